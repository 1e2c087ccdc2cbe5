// Incremental UTF-8 validation (RFC 3629, as RFC 6455 8.1 requires for text): fed a message in pieces
// split anywhere, even inside a code point. Rejects overlongs, surrogates and code points above U+10FFFF.
#pragma once

#include <QByteArrayView>

namespace socktap::ws {

class Utf8Validator
{
public:
    // Returns false once the input seen so far can no longer be valid (sticky).
    bool feed(QByteArrayView data);
    // Valid and not stopped inside a multi-byte sequence: what a message end needs.
    bool isComplete() const { return !m_failed && m_need == 0; }
    bool failed() const { return m_failed; }
    void reset() { *this = Utf8Validator(); }

    static bool isValid(QByteArrayView data);

private:
    quint8 m_need = 0; // continuation bytes still expected
    quint8 m_low = 0x80; // allowed range of the next continuation byte
    quint8 m_high = 0xbf;
    bool m_failed = false;
};

} // namespace socktap::ws
