package proxy

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"

	"reloadproxy/httpwire"
)

// HostPolicy is the Host allow-list: which host names a request may be
// for. It stops DNS rebinding, where a page on another site makes its own
// name resolve to 127.0.0.1 and reads the developer's app (and, through
// the error pages and the reload socket, more) with the browser's help.
//
// Always allowed: localhost and its subdomains (RFC 6761 §6.3 keeps them on
// the loopback), IP literals (a rebinding page needs a name of its own), and
// the names given to NewHostPolicy. The port never matters. A nil
// *HostPolicy allows every host. It is safe for concurrent use.
type HostPolicy struct {
	all     bool
	names   map[string]bool // exact names, lower case
	domains []string        // ".example.test": the domain and its subdomains, lower case

	mu     sync.Mutex
	logged map[string]bool // refused hosts already reported
}

// AllowAll is the NewHostPolicy name that turns the check off.
const AllowAll = "all"

// NewHostPolicy returns a policy that allows, besides the defaults, each
// name in names: an exact host name, ".example.test" for a domain and its
// subdomains, or AllowAll.
func NewHostPolicy(names ...string) *HostPolicy {
	p := &HostPolicy{names: map[string]bool{}, logged: map[string]bool{}}
	for _, n := range names {
		n = strings.TrimSuffix(strings.ToLower(n), ".")
		switch {
		case n == AllowAll:
			p.all = true
		case strings.HasPrefix(n, "."):
			p.domains = append(p.domains, n)
		case n != "":
			p.names[n] = true
		}
	}
	return p
}

// Allows reports whether a request may name host (a Host value, with or
// without a port). It does not allocate.
func (p *HostPolicy) Allows(host []byte) bool {
	if p == nil || p.all {
		return true
	}
	name := hostName(host)
	switch {
	case len(name) == 0:
		return false
	case name[0] == '[':
		return isIPv6Literal(name)
	case isIPv4Literal(name):
		return true
	case httpwire.EqualFold(name, "localhost") || hasSuffixFold(name, ".localhost"):
		return true
	}
	if len(p.names) > 0 && (p.names[string(name)] || hasUpper(name) && p.names[strings.ToLower(string(name))]) {
		return true
	}
	for _, d := range p.domains {
		if hasSuffixFold(name, d) || httpwire.EqualFold(name, d[1:]) {
			return true
		}
	}
	return false
}

// firstRefusal reports whether host is refused for the first time, so
// that it is logged once, not per request.
func (p *HostPolicy) firstRefusal(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.logged[name] || len(p.logged) > 1000 {
		return false
	}
	p.logged[name] = true
	return true
}

// hostName returns the host part of a Host value: without the port, and
// without the one trailing dot a fully qualified name may end in.
func hostName(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		for i, c := range host {
			if c == ']' {
				return host[:i+1]
			}
		}
		return host // unclosed: isIPv6Literal refuses it
	}
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			host = host[:i]
			break
		}
		if host[i] < '0' || host[i] > '9' {
			break
		}
	}
	if n := len(host); n > 1 && host[n-1] == '.' {
		host = host[:n-1]
	}
	return host
}

// isIPv4Literal reports whether s is four decimal octets, as browsers
// send an IPv4 host once they have normalised the URL.
func isIPv4Literal(s []byte) bool {
	octets, digits, value := 0, 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			value = value*10 + int(c-'0')
			digits++
			if digits > 3 || value > 255 {
				return false
			}
		case c == '.' && digits > 0:
			octets++
			digits, value = 0, 0
		default:
			return false
		}
	}
	return octets == 3 && digits > 0
}

// isIPv6Literal reports whether s is a bracketed IPv6 address (RFC 3986
// §3.2.2): hex digits, colons and an embedded IPv4 part, no zone.
func isIPv6Literal(s []byte) bool {
	if len(s) < 4 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	colons := 0
	for _, c := range s[1 : len(s)-1] {
		switch {
		case c == ':':
			colons++
		case c == '.', c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return colons >= 2
}

func hasSuffixFold(b []byte, suffix string) bool {
	return len(b) > len(suffix) && httpwire.EqualFold(b[len(b)-len(suffix):], suffix)
}

func hasUpper(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// originAllowed reports whether a WebSocket handshake's Origin may open one
// of the proxy's sockets: a page of the host the request is for (the
// proxy's own pages, whatever address the developer typed), a page of an
// allowed host name, or, with extensions, a browser extension. "null"
// (sandboxed frames, file: pages) and everything else are refused.
//
// IP literals are allowed as Host values because a rebinding page needs a
// name of its own; as an Origin an IP literal is a site like any other (a
// page served from a public address), so only loopback addresses and
// addresses the policy names (LISTEN's host, --allowed-host) pass.
func (p *HostPolicy) originAllowed(origin, requestHost []byte, extensions bool) bool {
	i := 0
	for i < len(origin) && origin[i] != ':' {
		i++
	}
	if i+3 > len(origin) || string(origin[i:i+3]) != "://" {
		return false // "null", or not an origin
	}
	scheme, host := origin[:i], origin[i+3:]
	switch {
	case httpwire.EqualFold(scheme, "http"), httpwire.EqualFold(scheme, "https"):
		name := hostName(host)
		switch {
		case p == nil || p.all:
			return true
		case len(name) > 0 && bytes.EqualFold(name, hostName(requestHost)):
			return true // same host: a page the proxy served
		case isIPv4Literal(name) || len(name) > 0 && name[0] == '[':
			return isLoopbackLiteral(name) || p.names[strings.ToLower(string(name))]
		}
		return p.Allows(host)
	case extensions:
		return httpwire.EqualFold(scheme, "chrome-extension") || httpwire.EqualFold(scheme, "moz-extension") ||
			httpwire.EqualFold(scheme, "safari-web-extension")
	}
	return false
}

// isLoopbackLiteral reports whether an IPv4 literal or a bracketed IPv6
// literal is a loopback address (127.0.0.0/8, ::1, or 127/8 mapped to IPv6).
func isLoopbackLiteral(name []byte) bool {
	s := string(name)
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	addr, err := netip.ParseAddr(s)
	return err == nil && addr.Zone() == "" && addr.Unmap().IsLoopback()
}

// IsHostName reports whether host is a name an allow-list entry can hold
// (--allowed-host takes nothing else): a non-empty DNS name of letters,
// digits, '-', '_' and '.'.
func IsHostName(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return host != ""
}
