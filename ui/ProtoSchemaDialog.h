// Session > Protobuf schema…: the .proto files protobuf messages are decoded with, where their
// imports are, the message type of each direction and, optionally, the URLs that are protobuf. The files
// are compiled as they are chosen, so protoc's errors and the types they define show before OK.
#pragma once

#include "core/decode/ProtoSchema.h"

#include <QDialog>

#include <memory>

class QComboBox;
class QDialogButtonBox;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;

namespace socktap::decode {
class FormatRegistry;
}

namespace socktap::ui {

class ProtoSchemaDialog final : public QDialog
{
    Q_OBJECT

public:
    explicit ProtoSchemaDialog(const decode::ProtoChoice &choice, QWidget *parent = nullptr);

    // Fills the dialog as a user would (the files compiled, the types listed).
    void setChoice(const decode::ProtoChoice &choice);
    decode::ProtoChoice choice() const;
    // The formats the choice makes; null while it does not compile (errors() says why).
    std::shared_ptr<const decode::FormatRegistry> formats() const { return m_formats; }
    QString errors() const;

    QComboBox *clientTypeBox() const { return m_clientType; }
    QComboBox *serverTypeBox() const { return m_serverType; }
    QLineEdit *urlEdit() const { return m_url; }

private:
    void compile();
    void chooseFiles(QListWidget *list, bool directories);
    static QStringList items(const QListWidget *list);

    QListWidget *m_files;
    QListWidget *m_dirs;
    QComboBox *m_clientType;
    QComboBox *m_serverType;
    QLineEdit *m_url;
    QPlainTextEdit *m_errors;
    QDialogButtonBox *m_buttons;
    std::shared_ptr<const decode::FormatRegistry> m_formats;
    bool m_filling = false;
};

} // namespace socktap::ui
