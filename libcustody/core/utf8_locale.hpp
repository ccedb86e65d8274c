// SPDX-License-Identifier: Apache-2.0
// Makes this thread's character type locale UTF-8 for a scope. libarchive converts entry names
// through the current locale; under the "C" locale of a tool, a UTF-8 name ("ネコ.txt") cannot be
// converted and libarchive fails (or, in 3.6's pax writer, crashes). uselocale() is per thread,
// so other threads and the process locale are untouched.
#pragma once

#include <locale.h>

#include <clocale>

namespace custody::internal {

class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() : m_locale(::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr)) {
    if (m_locale != nullptr) {
      m_previous = ::uselocale(m_locale);
    }
  }
  ~ScopedUtf8Locale() {
    if (m_locale != nullptr) {
      ::uselocale(m_previous);
      ::freelocale(m_locale);
    }
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t m_locale;
  locale_t m_previous = nullptr;
};

}  // namespace custody::internal
