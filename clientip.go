package baton

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// The headers a trusted proxy may name the client in, in canonical form;
// ServerConfig.ClientIPHeader picks one of them.
const (
	headerXForwardedFor = "X-Forwarded-For"
	headerXRealIP       = "X-Real-Ip"
	headerForwarded     = "Forwarded"
)

// proxyHeaders are the headers by which a request shows that a proxy
// passed it on. A request from a loopback peer that carries one of them
// did not come from this host.
var proxyHeaders = [...]string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Via", "X-Forwarded-Host", "X-Forwarded-Proto"}

// proxied reports whether req carries a header that a proxy adds.
func proxied(req *http.Request) bool {
	for _, h := range proxyHeaders {
		if _, ok := req.Header[h]; ok {
			return true
		}
	}
	return false
}

// proxyTrust finds the client of a request behind the trusted proxies. A
// nil *proxyTrust trusts no proxy: the client is the connection's peer.
type proxyTrust struct {
	nets   []netip.Prefix
	header string // one of the header constants
}

// newProxyTrust parses the trusted networks and the header. It returns nil
// when no proxy is trusted.
func newProxyTrust(trusted []string, header string) (*proxyTrust, error) {
	nets, err := parseNetworks(trusted)
	if err != nil {
		return nil, fmt.Errorf("baton: trusted proxies: %w", err)
	}
	h, err := clientIPHeader(header)
	if err != nil {
		return nil, err
	}
	if len(nets) == 0 {
		return nil, nil
	}
	return &proxyTrust{nets: nets, header: h}, nil
}

// clientIPHeader returns the canonical name of header, X-Forwarded-For if
// it is empty, or an error if it is not one baton reads.
func clientIPHeader(header string) (string, error) {
	if header == "" {
		return headerXForwardedFor, nil
	}
	switch h := http.CanonicalHeaderKey(header); h {
	case headerXForwardedFor, headerXRealIP, headerForwarded:
		return h, nil
	}
	return "", fmt.Errorf("baton: client IP header %q: want X-Forwarded-For, X-Real-IP or Forwarded", header)
}

// parseNetworks parses networks ("10.0.0.0/8") and single addresses.
func parseNetworks(list []string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, n := range list {
		n = strings.TrimSpace(n)
		if p, err := netip.ParsePrefix(n); err == nil {
			nets = append(nets, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network (10.0.0.0/8) or an address", n)
		}
		a = a.Unmap()
		nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return nets, nil
}

// inPrefixes reports whether one of nets holds ip.
func inPrefixes(ip netip.Addr, nets []netip.Prefix) bool {
	for _, p := range nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// peerAddr parses the address of the connection's peer.
func peerAddr(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(remote)
	return a.Unmap(), err == nil
}

// remoteHost returns the host part of a RemoteAddr ("127.0.0.1:5000",
// "[::1]:5000") without allocating. It is small enough to be inlined into
// the access log's path.
func remoteHost(remote string) string {
	for i := len(remote) - 1; i >= 0; i-- {
		if remote[i] == ':' {
			if i >= 2 && remote[0] == '[' && remote[i-1] == ']' {
				return remote[1 : i-1]
			}
			return remote[:i]
		}
	}
	return remote
}

// client returns the address of req's client: its peer, or, when the peer
// is a trusted proxy, the address the trusted header names. ok is false
// when the client is not known for sure: a peer that is not an IP
// address, or a trusted proxy that names no client or one that cannot be
// parsed; addr is then the peer, for the log.
func (t *proxyTrust) client(req *http.Request) (addr netip.Addr, ok bool) {
	peer, ok := peerAddr(req.RemoteAddr)
	if !ok || t == nil || !inPrefixes(peer, t.nets) {
		return peer, ok
	}
	switch t.header {
	case headerXRealIP:
		v := req.Header.Values(headerXRealIP)
		if len(v) != 1 {
			return peer, false
		}
		a, err := netip.ParseAddr(strings.TrimSpace(v[0]))
		if err != nil {
			return peer, false
		}
		return a.Unmap(), true
	case headerForwarded:
		return t.rightmost(peer, req.Header.Values(headerForwarded), forwardedFor)
	default:
		return t.rightmost(peer, req.Header.Values(headerXForwardedFor), strings.TrimSpace)
	}
}

// rightmost walks the comma-separated hops of lines from the right and
// returns the first one that is not a trusted proxy, or the leftmost if
// all are. hop extracts the address text of one element.
func (t *proxyTrust) rightmost(peer netip.Addr, lines []string, hop func(string) string) (netip.Addr, bool) {
	if len(lines) == 0 {
		return peer, false
	}
	hops := strings.Split(strings.Join(lines, ","), ",")
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hop(hops[i]))
		if err != nil {
			return peer, false
		}
		last = a.Unmap()
		if !inPrefixes(last, t.nets) {
			return last, true
		}
	}
	return last, true
}

// forwardedFor returns the address of the for= parameter of one element
// of a Forwarded header (RFC 7239): `for=192.0.2.60;proto=http`,
// `for="[2001:db8::1]:4711"`. It returns "" (which does not parse) for
// an element without one, or with an obfuscated or unknown node.
func forwardedFor(elem string) string {
	for _, pair := range strings.Split(elem, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
		if !strings.EqualFold(k, "for") {
			continue
		}
		v = strings.Trim(v, `"`)
		if strings.HasPrefix(v, "[") {
			end := strings.IndexByte(v, ']')
			if end < 0 {
				return ""
			}
			return v[1:end]
		}
		if host, _, found := strings.Cut(v, ":"); found {
			return host
		}
		return v
	}
	return ""
}

// GetClientIp returns the address of the client: the connection's peer,
// or, when the peer is one of ServerConfig.TrustedProxies, the client that
// the proxy names in ServerConfig.ClientIPHeader. Headers from any other
// peer are ignored, so a client cannot choose its own address. Behind a
// proxy that names no client, it is the proxy's address.
func (r *Request) GetClientIp() string {
	t := r.Server.trust.Load()
	if t == nil {
		return remoteHost(r.RemoteAddr)
	}
	a, ok := t.client(r.Request)
	if !ok && !a.IsValid() {
		return remoteHost(r.RemoteAddr)
	}
	return a.String()
}

// fromProxy reports whether the peer of req is a trusted proxy, whose
// headers may be believed.
func (t *proxyTrust) fromProxy(req *http.Request) bool {
	if t == nil {
		return false
	}
	peer, ok := peerAddr(req.RemoteAddr)
	return ok && inPrefixes(peer, t.nets)
}
