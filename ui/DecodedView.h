// PayloadView's Decoded tab: what one message means in the session's protocol. A header line (the format
// and the summary, whether it is chatter, a link to its request or answer, or why it did not decode) above
// a tree of the decoded value.
#pragma once

#include "core/decode/Decoded.h"

#include <optional>

#include <QWidget>

class QLabel;
class QTreeWidget;

namespace socktap::ui {

class DecodedView final : public QWidget
{
    Q_OBJECT

public:
    explicit DecodedView(QWidget *parent = nullptr);

    // Shows what the message means (nullopt: nothing decoded it), and its pair as the index of the other
    // message, how long between them, and whether that one is the answer. False, showing nothing, when
    // there is nothing worth a tab of its own.
    bool setDecoded(const std::optional<decode::Decoded> &decoded, std::optional<quint64> pair = std::nullopt,
                    qint64 pairMicros = 0, bool pairIsAnswer = false);
    void clear();

    QLabel *header() const { return m_header; }
    QTreeWidget *tree() const { return m_tree; }

signals:
    // The user followed the link to a message's request or answer (its store index).
    void pairActivated(quint64 index);

private:
    QLabel *m_header; // format, summary, pair link, why it did not decode
    QTreeWidget *m_tree;
};

} // namespace socktap::ui
