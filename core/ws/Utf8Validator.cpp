#include "Utf8Validator.h"

#include <cstring>

namespace socktap::ws {

bool Utf8Validator::feed(QByteArrayView data)
{
    if (m_failed)
        return false;
    const auto *p = reinterpret_cast<const quint8 *>(data.data());
    const qsizetype n = data.size();
    qsizetype i = 0;
    while (i < n) {
        if (m_need == 0) {
            // ASCII fast path, eight bytes at a time.
            while (i + 8 <= n) {
                quint64 w;
                std::memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i >= n)
                break;
            const quint8 b = p[i++];
            if (b < 0x80)
                continue;
            // RFC 3629 4: UTF8-2..UTF8-4 lead bytes and the range of the byte that must follow.
            m_low = 0x80;
            m_high = 0xbf;
            if (b >= 0xc2 && b <= 0xdf) {
                m_need = 1;
            } else if (b >= 0xe0 && b <= 0xef) {
                m_need = 2;
                if (b == 0xe0)
                    m_low = 0xa0; // no overlongs
                else if (b == 0xed)
                    m_high = 0x9f; // no surrogates U+D800..U+DFFF
            } else if (b >= 0xf0 && b <= 0xf4) {
                m_need = 3;
                if (b == 0xf0)
                    m_low = 0x90; // no overlongs
                else if (b == 0xf4)
                    m_high = 0x8f; // nothing above U+10FFFF
            } else {
                m_failed = true; // 0x80-0xc1 (continuation or overlong lead), 0xf5-0xff
                return false;
            }
            continue;
        }
        const quint8 b = p[i++];
        if (b < m_low || b > m_high) {
            m_failed = true;
            return false;
        }
        m_low = 0x80;
        m_high = 0xbf;
        --m_need;
    }
    return true;
}

bool Utf8Validator::isValid(QByteArrayView data)
{
    Utf8Validator v;
    return v.feed(data) && v.isComplete();
}

} // namespace socktap::ws
