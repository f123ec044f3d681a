package vrule

import (
	"net/mail"
	"net/url"
	"strings"
)

// isEmail reports whether s is a bare address, local@domain, as net/mail
// reads RFC 5322: no display name, no angle brackets, and a domain of at
// least two non-empty labels.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	labels := strings.Split(s[at+1:], ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
	}
	return true
}

// isURL reports whether s is an absolute URL: a scheme and a host
// ("https://example.com/x"), or a scheme and an opaque part
// ("mailto:a@example.com"), as net/url reads it.
func isURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	if u.Scheme == "file" {
		return u.Path != ""
	}
	return u.Host != "" || u.Opaque != ""
}
