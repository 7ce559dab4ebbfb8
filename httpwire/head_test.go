package httpwire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Section numbers in case names are RFC 9112's unless another RFC is named.

// withFields is a GET request with Host: a and the given field lines (each
// ending in CRLF), then the empty line.
func withFields(lines string) string {
	return "GET / HTTP/1.1\r\nHost: a\r\n" + lines + "\r\n"
}

// manyFields returns n field lines "F<i>: v\r\n".
func manyFields(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "F%d: v\r\n", i)
	}
	return b.String()
}

// requestLine returns "GET /aaa… HTTP/1.1\r\n" whose bytes before the LF
// number exactly n.
func requestLine(n int) string {
	const fixed = len("GET / HTTP/1.1\r")
	return "GET /" + strings.Repeat("a", n-fixed) + " HTTP/1.1\r\n"
}

type requestCase struct {
	name   string
	in     string
	status int   // with err: the Status the error carries
	err    error // nil: the head parses
	n      int   // without err: the head length; 0 means len(in)
	want   string
	fields []string // without err, when non-nil: "Name: Value" lines
}

var requestCases = []requestCase{
	// Request line (§3).
	{name: "§3 request-line", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a"}},
	{name: "§3.1 method is any token, case kept", in: "get / HTTP/1.1\r\nHost: a\r\n\r\n", want: `get / HTTP/1.1 host="a" keep-alive`},
	{name: "§3.1 extension method token", in: "PURGE-X_1.~ /x HTTP/1.1\r\nHost: a\r\n\r\n", want: `PURGE-X_1.~ /x HTTP/1.1 host="a" keep-alive`},
	{name: "§3.1 method with a non-tchar", in: "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrMethod},
	{name: "§3.1 method with obs-text", in: "G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrMethod},
	{name: "§3 empty method", in: " / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrMethod},
	{name: "§3 HTAB instead of SP after method", in: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrMethod},
	{name: "§3 two SP after method", in: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrRequestLine},
	{name: "§3 two SP before version", in: "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§3 SP after version", in: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§3 SP inside target", in: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§3 method only", in: "GET\r\nHost: a\r\n\r\n", status: 400, err: ErrRequestLine},
	{name: "§3 no version (HTTP/0.9 simple-request)", in: "GET /\r\n\r\n", status: 400, err: ErrRequestLine},
	{name: "§3 no target", in: "GET HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrRequestLine},
	{name: "§3 SP before method", in: " GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrMethod},
	{name: "§3.2 CTL in target", in: "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2 DEL in target", in: "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2 non-ASCII in target", in: "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.1 origin-form with query", in: "GET /a/b?c=d&e HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET /a/b?c=d&e HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2.1 relative path is no origin-form", in: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form", in: "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET http://a/b?c HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2.2 absolute-form https, scheme case-insensitive", in: "GET HTTPS://a:8443 HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET HTTPS://a:8443 HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2 a fragment is dropped (RFC 3986 §4.3)", in: "GET /a?b#c HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET /a?b HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2 a fragment alone is no target", in: "GET #c HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 a fragment is dropped from absolute-form", in: "GET http://a/b#c HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET http://a/b HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2.2 absolute-form with an empty host (RFC 9110 §4.2.1)", in: "GET http:///b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form with no authority", in: "GET http:// HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form with a port but no host", in: "GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form with userinfo (RFC 9110 §4.2.4)", in: "GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form authority with a character Host may not hold (RFC 3986 §3.2.2)", in: "GET http://a\"b/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form authority with a port that is no number", in: "GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form authority with an unclosed IP-literal", in: "GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form authority with braces", in: "GET https://a{b}?q HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.2 absolute-form authority with an IPv6 literal and port", in: "GET http://[::1]:8080/x HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET http://[::1]:8080/x HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2.2 absolute-form of another scheme", in: "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.3 authority-form for CONNECT is not proxied", in: "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", status: 501, err: ErrConnect},
	{name: "§3.2.3 authority-form for another method", in: "GET a:443 HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},
	{name: "§3.2.4 asterisk-form for OPTIONS", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", want: `OPTIONS * HTTP/1.1 host="a" keep-alive`},
	{name: "§3.2.4 asterisk-form for another method", in: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrTarget},

	// HTTP version (§2.3). DESIGN.md: other versions → 505.
	{name: "§2.3 HTTP/1.0", in: "GET / HTTP/1.0\r\n\r\n", want: `GET / HTTP/1.0`},
	{name: "§2.3 HTTP/1.1", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "§2.3 HTTP/2.0 is 505", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505, err: ErrHTTPVersion},
	{name: "§2.3 HTTP/0.9 is 505", in: "GET / HTTP/0.9\r\n\r\n", status: 505, err: ErrHTTPVersion},
	{name: "§2.3 HTTP/1.2 is 505", in: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", status: 505, err: ErrHTTPVersion},
	{name: "§2.3 HTTP/9.9 is 505", in: "GET / HTTP/9.9\r\nHost: a\r\n\r\n", status: 505, err: ErrHTTPVersion},
	{name: "§2.3 version name is case-sensitive", in: "GET / http/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§2.3 two-digit minor", in: "GET / HTTP/1.10\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§2.3 no minor", in: "GET / HTTP/1\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§2.3 no dot", in: "GET / HTTP/11\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§2.3 letter for digit", in: "GET / HTTP/1.x\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§2.3 SP for slash", in: "GET / HTTP 1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},
	{name: "§2.3 another protocol", in: "GET / RTSP/1.0\r\nHost: a\r\n\r\n", status: 400, err: ErrVersion},

	// Line endings (§2.2).
	{name: "§2.2 bare LF ends the request-line", in: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare LF ends a field line", in: "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare LF as the empty line", in: "GET / HTTP/1.1\r\nHost: a\r\n\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare LF after the method", in: "GET\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare LF after a field name", in: "GET / HTTP/1.1\r\nHost: a\r\nX\n\r\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare LF before the request-line", in: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare CR in the target", in: "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR after the method", in: "GET\r/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR ends the request-line", in: "GET / HTTP/1.1\rHost: a\r\n\r\n", status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR inside a field value", in: withFields("X: a\rb\r\n"), status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR ends a field line", in: withFields("X: a\rY: b\r\n"), status: 400, err: ErrBareCR},
	{name: "§2.2 CR CR LF ends a field line", in: withFields("X: a\r\r\n"), status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR inside a field name", in: withFields("X\rY: a\r\n"), status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR as the empty line", in: "GET / HTTP/1.1\r\nHost: a\r\n\rX", status: 400, err: ErrBareCR},
	{name: "§2.2 bare CR before the request-line", in: "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrBareCR},

	// Empty lines before the request-line (§2.2): one CRLF is ignored.
	{name: "§2.2 one CRLF before the request-line", in: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "§2.2 two CRLF before the request-line", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrRequestLine},
	{name: "§2.2 SP before the request-line", in: "\r\n GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400, err: ErrMethod},

	// Whitespace between the start-line and the first field (§2.2) and
	// obs-fold (§5.2) are rejected.
	{name: "§2.2 SP before the first field line", in: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", status: 400, err: ErrObsFold},
	{name: "§2.2 HTAB before the first field line", in: "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", status: 400, err: ErrObsFold},
	{name: "§5.2 obs-fold with SP", in: withFields("X: a\r\n b\r\n"), status: 400, err: ErrObsFold},
	{name: "§5.2 obs-fold with HTAB", in: withFields("X: a\r\n\tb\r\n"), status: 400, err: ErrObsFold},
	{name: "§5.2 obs-fold of an empty value", in: withFields("X:\r\n b\r\n"), status: 400, err: ErrObsFold},

	// Field names (§5.1, RFC 9110 §5.1).
	{name: "§5.1 no whitespace between field name and colon", in: "GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n", status: 400, err: ErrSpaceBeforeColon},
	{name: "§5.1 no HTAB between field name and colon", in: withFields("X\t: y\r\n"), status: 400, err: ErrSpaceBeforeColon},
	{name: "§5.1 SP before colon of Host", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400, err: ErrSpaceBeforeColon},
	{name: "§5.1 empty field name", in: withFields(": y\r\n"), status: 400, err: ErrFieldName},
	{name: "§5.1 field name with a non-tchar", in: withFields("X(Y: y\r\n"), status: 400, err: ErrFieldName},
	{name: "§5.1 field name with a slash", in: withFields("X/Y: y\r\n"), status: 400, err: ErrFieldName},
	{name: "§5.1 field name with obs-text", in: withFields("X\xffY: y\r\n"), status: 400, err: ErrFieldName},
	{name: "§5.1 field name with NUL", in: withFields("X\x00Y: y\r\n"), status: 400, err: ErrFieldName},
	{name: "§5.1 field line without a colon", in: withFields("XY\r\n"), status: 400, err: ErrFieldName},
	{name: "§5.1 field names keep their case", in: withFields("x-ToKeN!#$%&'*+-.^_`|~09: y\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`,
		fields: []string{"Host: a", "x-ToKeN!#$%&'*+-.^_`|~09: y"}},

	// Field values (§5.1, RFC 9110 §5.5).
	{name: "§5.1 OWS around the value is trimmed", in: withFields("X: \t a \t b \t \r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a", "X: a \t b"}},
	{name: "§5.1 no OWS at all", in: withFields("X:y\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a", "X: y"}},
	{name: "§5.1 empty value", in: withFields("X:\r\nY: \t \r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a", "X: ", "Y: "}},
	{name: "RFC 9110 §5.5 obs-text in a value is kept", in: withFields("X: caf\xc3\xa9 \x80\xff\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a", "X: caf\xc3\xa9 \x80\xff"}},
	{name: "RFC 9110 §5.5 all VCHAR in a value", in: withFields("X: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a", "X: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}},
	{name: "RFC 9110 §5.5 NUL in a value", in: withFields("X: a\x00b\r\n"), status: 400, err: ErrFieldValue},
	{name: "RFC 9110 §5.5 CTL in a value", in: withFields("X: a\x01b\r\n"), status: 400, err: ErrFieldValue},
	{name: "RFC 9110 §5.5 ESC in a value", in: withFields("X: a\x1bb\r\n"), status: 400, err: ErrFieldValue},
	{name: "RFC 9110 §5.5 DEL in a value", in: withFields("X: a\x7fb\r\n"), status: 400, err: ErrFieldValue},
	{name: "RFC 9110 §5.5 form feed in a value", in: withFields("X: a\fb\r\n"), status: 400, err: ErrFieldValue},
	{name: "RFC 9110 §5.3 repeated fields are kept in order", in: withFields("X: 1\r\nY: 2\r\nx: 3\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`, fields: []string{"Host: a", "X: 1", "Y: 2", "x: 3"}},

	// Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
	{name: "RFC 9110 §8.6 Content-Length", in: withFields("Content-Length: 5\r\n") + "hello", n: len(withFields("Content-Length: 5\r\n")), want: `GET / HTTP/1.1 host="a" cl=5 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length zero", in: withFields("Content-Length: 0\r\n"), want: `GET / HTTP/1.1 host="a" cl=0 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length name is case-insensitive", in: withFields("content-LENGTH: 3\r\n"), want: `GET / HTTP/1.1 host="a" cl=3 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length with leading zeros", in: withFields("Content-Length: 007\r\n"), want: `GET / HTTP/1.1 host="a" cl=7 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length with OWS", in: withFields("Content-Length: \t 5 \t\r\n"), want: `GET / HTTP/1.1 host="a" cl=5 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length of 18 digits", in: withFields("Content-Length: 999999999999999999\r\n"), want: `GET / HTTP/1.1 host="a" cl=999999999999999999 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length with leading zeros past 18 digits", in: withFields("Content-Length: 00000000000000000005\r\n"), want: `GET / HTTP/1.1 host="a" cl=5 keep-alive`},
	{name: "RFC 9110 §8.6 Content-Length of 19 significant digits after a zero", in: withFields("Content-Length: 01000000000000000000\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length overflow", in: withFields("Content-Length: 99999999999999999999\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length past int64", in: withFields("Content-Length: 9223372036854775808\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length with plus sign", in: withFields("Content-Length: +5\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length negative", in: withFields("Content-Length: -5\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length empty", in: withFields("Content-Length: \r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length in hex", in: withFields("Content-Length: 0x5\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length with SP inside", in: withFields("Content-Length: 1 2\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length as a list", in: withFields("Content-Length: 5, 5\r\n"), status: 400, err: ErrContentLength},
	{name: "RFC 9110 §8.6 Content-Length with a fraction", in: withFields("Content-Length: 5.0\r\n"), status: 400, err: ErrContentLength},
	{name: "§6.3 duplicate Content-Length, same value", in: withFields("Content-Length: 5\r\nContent-Length: 5\r\n"), status: 400, err: ErrDuplicateLength},
	{name: "§6.3 duplicate Content-Length, different values", in: withFields("Content-Length: 5\r\nContent-Length: 6\r\n"), status: 400, err: ErrDuplicateLength},

	// Transfer-Encoding (§6.1, §6.3, §7).
	{name: "§6.1 chunked", in: withFields("Transfer-Encoding: chunked\r\n"), want: `GET / HTTP/1.1 host="a" chunked keep-alive`},
	{name: "§6.1 coding names are case-insensitive", in: withFields("transfer-encoding: Chunked\r\n"), want: `GET / HTTP/1.1 host="a" chunked keep-alive`},
	{name: "§6.1 gzip then chunked is not forwarded: 501", in: withFields("Transfer-Encoding: gzip, chunked\r\n"), status: 501, err: ErrCodingNotForwarded},
	{name: "§6.1 codings split over two field lines: 501", in: withFields("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), status: 501, err: ErrCodingNotForwarded},
	{name: "§6.1 identity then chunked: 501", in: withFields("Transfer-Encoding: identity, chunked\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 empty list elements are ignored (RFC 9110 §5.6.1)", in: withFields("Transfer-Encoding: , chunked ,\r\n"), want: `GET / HTTP/1.1 host="a" chunked keep-alive`},
	{name: "§6.1 trailing comma", in: withFields("Transfer-Encoding: chunked,\r\n"), want: `GET / HTTP/1.1 host="a" chunked keep-alive`},
	{name: "§6.1 leading comma", in: withFields("Transfer-Encoding: ,chunked\r\n"), want: `GET / HTTP/1.1 host="a" chunked keep-alive`},
	{name: "§6.1 empty elements around another coding: 501", in: withFields("Transfer-Encoding: , gzip,,chunked ,\r\n"), status: 501, err: ErrCodingNotForwarded},
	{name: "§6.1 parameters on a coding: 501", in: withFields("Transfer-Encoding: gzip;q=1, chunked\r\n"), status: 501, err: ErrCodingNotForwarded},
	{name: "§6.3 chunked not final", in: withFields("Transfer-Encoding: chunked, gzip\r\n"), status: 400, err: ErrChunkedNotFinal},
	{name: "§6.3 chunked not final over two field lines", in: withFields("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), status: 400, err: ErrChunkedNotFinal},
	{name: "§6.3 no chunked at all", in: withFields("Transfer-Encoding: gzip\r\n"), status: 400, err: ErrChunkedNotFinal},
	{name: "§6.1 identity alone is no longer registered: 501", in: withFields("Transfer-Encoding: identity\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 unknown coding alone is 501", in: withFields("Transfer-Encoding: pigeons\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 unknown coding after chunked is 501", in: withFields("Transfer-Encoding: chunked, pigeons\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 unknown coding before chunked is 501", in: withFields("Transfer-Encoding: pigeons, chunked\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 unknown coding on an earlier field line is 501", in: withFields("Transfer-Encoding: pigeons\r\nTransfer-Encoding: chunked\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 chunked twice", in: withFields("Transfer-Encoding: chunked, chunked\r\n"), status: 400, err: ErrBadEncoding},
	{name: "§6.1 chunked twice over two field lines", in: withFields("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), status: 400, err: ErrBadEncoding},
	{name: "§6.1 chunked, gzip, chunked", in: withFields("Transfer-Encoding: chunked, gzip, chunked\r\n"), status: 400, err: ErrBadEncoding},
	{name: "§7 chunked takes no parameters", in: withFields("Transfer-Encoding: chunked;x=1\r\n"), status: 400, err: ErrBadEncoding},
	{name: "§6.1 empty Transfer-Encoding", in: withFields("Transfer-Encoding: \r\n"), status: 400, err: ErrBadEncoding},
	{name: "§6.1 Transfer-Encoding of only commas", in: withFields("Transfer-Encoding: ,,\r\n"), status: 400, err: ErrBadEncoding},
	{name: "§6.1 coding that is no token", in: withFields("Transfer-Encoding: chun ked\r\n"), status: 400, err: ErrBadEncoding},
	{name: "§6.1 chunkedchunked is unknown", in: withFields("Transfer-Encoding: chunkedchunked\r\n"), status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 Content-Length and Transfer-Encoding", in: withFields("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), status: 400, err: ErrLengthAndEncoding},
	{name: "§6.1 Transfer-Encoding and Content-Length", in: withFields("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), status: 400, err: ErrLengthAndEncoding},
	{name: "§6.1 Content-Length and an unknown coding", in: withFields("Content-Length: 5\r\nTransfer-Encoding: pigeons\r\n"), status: 400, err: ErrLengthAndEncoding},
	{name: "§6.1 Transfer-Encoding in HTTP/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400, err: ErrEncodingHTTP10},

	// Host (§3.2, RFC 9110 §7.2).
	{name: "§3.2 Host missing in HTTP/1.1", in: "GET / HTTP/1.1\r\nX: y\r\n\r\n", status: 400, err: ErrMissingHost},
	{name: "§3.2 Host repeated", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", status: 400, err: ErrDuplicateHost},
	{name: "§3.2 Host repeated, different case", in: "GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", status: 400, err: ErrDuplicateHost},
	{name: "§3.2 Host with SP", in: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with a slash", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with userinfo", in: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with obs-text", in: "GET / HTTP/1.1\r\nHost: \xe4\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host as a list", in: "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with a port that is no number (RFC 3986 §3.2.3)", in: "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with two ports", in: "GET / HTTP/1.1\r\nHost: a:80:81\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with an unbracketed IPv6 address", in: "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with an unclosed IP-literal", in: "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with bytes after an IP-literal", in: "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with a bracket in a reg-name", in: "GET / HTTP/1.1\r\nHost: a]\r\n\r\n", status: 400, err: ErrHost},
	{name: "§3.2 Host with an empty port (RFC 3986 §3.2.3)", in: "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", want: `GET / HTTP/1.1 host="a:" keep-alive`},
	{name: "§3.2 Host empty (no authority)", in: "GET / HTTP/1.1\r\nHost:\r\n\r\n", want: `GET / HTTP/1.1 host="" keep-alive`},
	{name: "§3.2 Host with port and IPv6 literal", in: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", want: `GET / HTTP/1.1 host="[::1]:8080" keep-alive`},
	{name: "§3.2 Host name is case-insensitive", in: "GET / HTTP/1.1\r\nhOsT: a.example:80\r\n\r\n", want: `GET / HTTP/1.1 host="a.example:80" keep-alive`},
	{name: "§3.2 Host optional in HTTP/1.0", in: "GET / HTTP/1.0\r\nX: y\r\n\r\n", want: `GET / HTTP/1.0`},
	{name: "§3.2 Host repeated in HTTP/1.0", in: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", status: 400, err: ErrDuplicateHost},

	// Limits (DESIGN.md).
	{name: "limits: request-line of 8 KiB", in: requestLine(MaxRequestLine) + "Host: a\r\n\r\n", want: "GET /" + strings.Repeat("a", MaxRequestLine-len("GET / HTTP/1.1\r")) + ` HTTP/1.1 host="a" keep-alive`},
	{name: "limits: request-line over 8 KiB is 414", in: requestLine(MaxRequestLine+1) + "Host: a\r\n\r\n", status: 414, err: ErrURITooLong},
	{name: "limits: incomplete request-line over 8 KiB is 414", in: "GET /" + strings.Repeat("a", MaxRequestLine), status: 414, err: ErrURITooLong},
	{name: "limits: head of 64 KiB", in: withFields("X: " + strings.Repeat("v", MaxHeadBytes-len(withFields("X: \r\n"))) + "\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "limits: head over 64 KiB is 431", in: withFields("X: " + strings.Repeat("v", MaxHeadBytes+1-len(withFields("X: \r\n"))) + "\r\n"), status: 431, err: ErrHeadTooLarge},
	{name: "limits: incomplete head of 64 KiB is 431", in: withFields("X: " + strings.Repeat("v", MaxHeadBytes)), status: 431, err: ErrHeadTooLarge},
	{name: "limits: 100 fields", in: "GET / HTTP/1.1\r\nHost: a\r\n" + manyFields(MaxFields-1) + "\r\n", want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "limits: 101 fields is 431", in: "GET / HTTP/1.1\r\nHost: a\r\n" + manyFields(MaxFields) + "\r\n", status: 431, err: ErrTooManyFields},

	// Connection (§9.3, §9.6, RFC 9110 §7.6.1).
	{name: "§9.3 HTTP/1.1 is persistent by default", in: withFields(""), want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "§9.3 HTTP/1.1 with close", in: withFields("Connection: close\r\n"), want: `GET / HTTP/1.1 host="a"`},
	{name: "§9.3 HTTP/1.1 with Close in a list", in: withFields("Connection: foo, Close\r\n"), want: `GET / HTTP/1.1 host="a" options=foo`},
	{name: "§9.3 HTTP/1.0 is not persistent by default", in: "GET / HTTP/1.0\r\n\r\n", want: `GET / HTTP/1.0`},
	{name: "§9.3 HTTP/1.0 with keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", want: `GET / HTTP/1.0 keep-alive`},
	{name: "§9.3 HTTP/1.0 with keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", want: `GET / HTTP/1.0`},
	{name: "RFC 9110 §7.6.1 connection options", in: withFields("Connection: keep-alive, X-Foo ,, x-bar\r\nX-Foo: 1\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive options=X-Foo,x-bar`},
	{name: "RFC 9110 §7.6.1 connection option that is no token", in: withFields("Connection: a b\r\n"), status: 400, err: ErrFieldValue},
	{name: "RFC 9110 §7.8 upgrade", in: withFields("Connection: Upgrade\r\nUpgrade: websocket\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive upgrade`},
	{name: "RFC 9110 §7.8 upgrade in a list", in: withFields("Upgrade: websocket\r\nConnection: keep-alive, upgrade\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive upgrade`},
	{name: "RFC 9110 §7.8 Connection: upgrade without Upgrade", in: withFields("Connection: upgrade\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "RFC 9110 §7.8 Upgrade without Connection: upgrade", in: withFields("Upgrade: websocket\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "RFC 9110 §7.8 Upgrade in HTTP/1.0 is ignored", in: "GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", want: `GET / HTTP/1.0`},

	// Expect (RFC 9110 §10.1.1).
	{name: "RFC 9110 §10.1.1 Expect: 100-continue", in: withFields("Expect: 100-continue\r\nContent-Length: 3\r\n"), want: `GET / HTTP/1.1 host="a" cl=3 keep-alive expect-100`},
	{name: "RFC 9110 §10.1.1 Expect is case-insensitive", in: withFields("expect: 100-Continue\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive expect-100`},
	{name: "RFC 9110 §10.1.1 other expectations", in: withFields("Expect: 200-ok\r\n"), want: `GET / HTTP/1.1 host="a" keep-alive`},
	{name: "RFC 9110 §10.1.1 HTTP/1.0 100-continue is ignored", in: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", want: `POST / HTTP/1.0 cl=3`},

	// The head ends at the empty line; what follows is not looked at.
	{name: "§2.1 bytes after the head are not part of it", in: withFields("") + "\x00garbage\n\r", n: len(withFields("")), want: `GET / HTTP/1.1 host="a" keep-alive`},
}

func TestRequestHeadRFC9112(t *testing.T) {
	var h RequestHead // reused, as the proxy does
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := h.Parse([]byte(tc.in))
			if !checkErr(t, n, err, tc.err, tc.status) {
				return
			}
			wantN := tc.n
			if wantN == 0 {
				wantN = len(tc.in)
			}
			if n != wantN {
				t.Errorf("n = %d, want %d", n, wantN)
			}
			if got := summarizeRequest(&h); got != tc.want {
				t.Errorf("head (-want +got):\n-%s\n+%s", tc.want, got)
			}
			if tc.fields != nil {
				if d := diffLines(tc.fields, fieldLines(h.Fields)); d != "" {
					t.Errorf("fields (-want +got):\n%s", d)
				}
			}
		})
	}
}

type responseCase struct {
	name    string
	in      string
	head    bool // the request was HEAD
	status  int
	err     error
	n       int
	want    string
	framing Framing
}

var responseCases = []responseCase{
	// Status line (§4).
	{name: "§4 status-line", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: `HTTP/1.1 200 "OK" cl=0`, framing: NoBody},
	{name: "§4 reason with SP, HTAB and obs-text", in: "HTTP/1.1 404 Not \tFound \xe9\r\n\r\n", want: "HTTP/1.1 404 \"Not \\tFound \\xe9\"", framing: CloseBody},
	{name: "§4 empty reason", in: "HTTP/1.1 200 \r\n\r\n", want: `HTTP/1.1 200 ""`, framing: CloseBody},
	{name: "§4 no SP and no reason", in: "HTTP/1.1 200\r\n\r\n", want: `HTTP/1.1 200 ""`, framing: CloseBody},
	{name: "§4 HTTP/1.0 closes by default", in: "HTTP/1.0 200 OK\r\n\r\n", want: `HTTP/1.0 200 "OK" close`, framing: CloseBody},
	{name: "§4 HTTP/1.0 with keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", want: `HTTP/1.0 200 "OK" cl=2`, framing: LengthBody},
	{name: "§4 status code of two digits", in: "HTTP/1.1 20 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 status code of four digits", in: "HTTP/1.1 2000 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 status code with a letter", in: "HTTP/1.1 2x0 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 status code below 100", in: "HTTP/1.1 099 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "RFC 9110 §15 status code 599, the highest", in: "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n", want: `HTTP/1.1 599 "Odd" cl=0`, framing: NoBody},
	{name: "RFC 9110 §15 status code above 599", in: "HTTP/1.1 600 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "RFC 9110 §15 status code 999", in: "HTTP/1.1 999 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 no status code", in: "HTTP/1.1 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 two SP before the code", in: "HTTP/1.1  200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 HTAB after the version", in: "HTTP/1.1\t200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 HTAB after the code", in: "HTTP/1.1 200\tOK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 CTL in the reason", in: "HTTP/1.1 200 O\x01K\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 HTTP/2.0 status-line", in: "HTTP/2.0 200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 HTTP/1.2 status-line", in: "HTTP/1.2 200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 lower-case version", in: "http/1.1 200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 another protocol", in: "ICE/1.1 200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§4 incomplete garbage is rejected early", in: "XTTP/1.1 200", status: 400, err: ErrStatusLine},
	{name: "§4 status-line over 8 KiB", in: "HTTP/1.1 200 " + strings.Repeat("a", MaxRequestLine) + "\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§2.2 bare LF ends the status-line", in: "HTTP/1.1 200 OK\nX: y\r\n\r\n", status: 400, err: ErrBareLF},
	{name: "§2.2 bare CR in the status-line", in: "HTTP/1.1 200 OK\rX: y\r\n\r\n", status: 400, err: ErrBareCR},
	{name: "§2.2 empty line before the status-line", in: "\r\nHTTP/1.1 200 OK\r\n\r\n", status: 400, err: ErrStatusLine},
	{name: "§5.2 obs-fold in a response", in: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", status: 400, err: ErrObsFold},
	{name: "§5.1 SP before colon in a response", in: "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", status: 400, err: ErrSpaceBeforeColon},

	// Message body length (§6.3).
	{name: "§6.3 item 1 HEAD response has no body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", head: true, want: `HTTP/1.1 200 "OK" cl=10`, framing: NoBody},
	{name: "§6.3 item 1 HEAD response with chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head: true, want: `HTTP/1.1 200 "OK" chunked`, framing: NoBody},
	{name: "§6.3 item 1 100 Continue has no body", in: "HTTP/1.1 100 Continue\r\n\r\n", want: `HTTP/1.1 100 "Continue"`, framing: NoBody},
	{name: "§6.3 item 1 103 with Content-Length has no body", in: "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\n", want: `HTTP/1.1 103 "Early Hints" cl=5`, framing: NoBody},
	{name: "§6.3 item 1 101 has no body", in: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", want: `HTTP/1.1 101 "Switching Protocols" upgrade`, framing: NoBody},
	{name: "§6.3 item 1 204 with Content-Length has no body", in: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", want: `HTTP/1.1 204 "No Content" cl=5`, framing: NoBody},
	{name: "§6.3 item 1 304 with Content-Length has no body", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", want: `HTTP/1.1 304 "Not Modified" cl=5`, framing: NoBody},
	{name: "§6.3 item 1 304 with chunked has no body", in: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", want: `HTTP/1.1 304 "Not Modified" chunked`, framing: NoBody},
	{name: "§6.3 item 4 chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", want: `HTTP/1.1 200 "OK" chunked`, framing: ChunkedBody},
	{name: "§7 known codings then chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want: `HTTP/1.1 200 "OK" chunked other-codings`, framing: ChunkedBody},
	{name: "§7 every known coding, two lines", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-gzip, deflate, compress\r\nTransfer-Encoding: x-compress, chunked\r\n\r\n", want: `HTTP/1.1 200 "OK" chunked other-codings`, framing: ChunkedBody},
	{name: "unknown coding then chunked: refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom, chunked\r\n\r\n", status: 501, err: ErrUnknownEncoding},
	{name: "unknown coding then chunked on two lines: refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom\r\nTransfer-Encoding: chunked\r\n\r\n", status: 501, err: ErrUnknownEncoding},
	{name: "identity then chunked: refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, chunked\r\n\r\n", status: 501, err: ErrUnknownEncoding},
	{name: "chunked then identity on two lines: refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", status: 501, err: ErrUnknownEncoding},
	{name: "§6.3 item 4 chunked not final: refused, not close-delimited", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", status: 400, err: ErrChunkedNotFinal},
	{name: "§6.3 item 4 gzip alone: refused, not close-delimited", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400, err: ErrChunkedNotFinal},
	{name: "§6.3 item 4 chunked then unknown: refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, x-custom\r\n\r\n", status: 501, err: ErrUnknownEncoding},
	{name: "§6.1 empty list elements in a response", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,gzip,, chunked,\r\n\r\n", want: `HTTP/1.1 200 "OK" chunked other-codings`, framing: ChunkedBody},
	{name: "§6.1 chunked twice in a response", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400, err: ErrBadEncoding},
	{name: "§6.1 empty Transfer-Encoding in a response", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", status: 400, err: ErrBadEncoding},
	{name: "§6.1 HTTP/1.0 response with Transfer-Encoding closes", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", want: `HTTP/1.0 200 "OK" chunked close`, framing: ChunkedBody},
	{name: "§6.3 item 3 Content-Length and Transfer-Encoding", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400, err: ErrLengthAndEncoding},
	{name: "§6.3 item 3 Content-Length and a coding that is not chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", status: 400, err: ErrLengthAndEncoding},
	{name: "§6.3 item 6 Content-Length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", n: len("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), want: `HTTP/1.1 200 "OK" cl=5`, framing: LengthBody},
	{name: "§6.3 item 6 Content-Length zero", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: `HTTP/1.1 200 "OK" cl=0`, framing: NoBody},
	{name: "§6.3 item 5 same Content-Length twice", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", want: `HTTP/1.1 200 "OK" cl=5`, framing: LengthBody},
	{name: "§6.3 item 5 different Content-Lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", status: 400, err: ErrContentLength},
	{name: "§6.3 item 5 invalid Content-Length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", status: 400, err: ErrContentLength},
	{name: "§6.3 item 8 neither is close-delimited", in: "HTTP/1.1 200 OK\r\n\r\n", want: `HTTP/1.1 200 "OK"`, framing: CloseBody},

	// Connection (§9.3, §9.6).
	{name: "§9.6 Connection: close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", want: `HTTP/1.1 200 "OK" cl=0 close`, framing: NoBody},
	{name: "RFC 9110 §7.6.1 response connection options", in: "HTTP/1.1 200 OK\r\nConnection: X-A, close, x-b\r\n\r\n", want: `HTTP/1.1 200 "OK" close options=X-A,x-b`, framing: CloseBody},
}

func TestResponseHeadRFC9112(t *testing.T) {
	var h ResponseHead
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := h.Parse([]byte(tc.in))
			if !checkErr(t, n, err, tc.err, tc.status) {
				return
			}
			wantN := tc.n
			if wantN == 0 {
				wantN = len(tc.in)
			}
			if n != wantN {
				t.Errorf("n = %d, want %d", n, wantN)
			}
			if got := summarizeResponse(&h); got != tc.want {
				t.Errorf("head (-want +got):\n-%s\n+%s", tc.want, got)
			}
			if got := h.BodyFraming(tc.head); got != tc.framing {
				t.Errorf("BodyFraming(%v) = %s, want %s", tc.head, framingName(got), framingName(tc.framing))
			}
		})
	}
}

// checkErr compares a Parse result with the expected error and reports
// whether the test should go on to compare a successful parse.
func checkErr(t *testing.T, n int, err, want error, status int) bool {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Parse: %v (%s), want success", err, errName(err))
		}
		return true
	}
	if !errors.Is(err, want) {
		t.Fatalf("Parse: %v (%s), want %v (%s)", err, errName(err), want, errName(want))
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Status != status {
		t.Fatalf("Parse: status of %v is %d, want %d", err, pe.Status, status)
	}
	if n != 0 {
		t.Errorf("n = %d with an error, want 0", n)
	}
	return false
}

// summarizeRequest renders everything Parse derives from a request head
// except the field list, one token per property that is not its default.
func summarizeRequest(h *RequestHead) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.%d", h.Method, h.Target, h.Minor)
	if h.Host != nil {
		fmt.Fprintf(&b, " host=%q", h.Host)
	}
	if h.ContentLength != -1 {
		fmt.Fprintf(&b, " cl=%d", h.ContentLength)
	}
	if h.Chunked {
		b.WriteString(" chunked")
	}
	if h.KeepAlive {
		b.WriteString(" keep-alive")
	}
	if h.Upgrade {
		b.WriteString(" upgrade")
	}
	if h.Expect100 {
		b.WriteString(" expect-100")
	}
	if len(h.ConnectionOptions) > 0 {
		b.WriteString(" options=" + string(joinBytes(h.ConnectionOptions)))
	}
	return b.String()
}

func summarizeResponse(h *ResponseHead) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.%d %d %q", h.Minor, h.Status, h.Reason)
	if h.ContentLength != -1 {
		fmt.Fprintf(&b, " cl=%d", h.ContentLength)
	}
	if h.Chunked {
		b.WriteString(" chunked")
	}
	if h.OtherCodings {
		b.WriteString(" other-codings")
	}
	if h.Close {
		b.WriteString(" close")
	}
	if h.Upgrade {
		b.WriteString(" upgrade")
	}
	if len(h.ConnectionOptions) > 0 {
		b.WriteString(" options=" + string(joinBytes(h.ConnectionOptions)))
	}
	return b.String()
}

func joinBytes(list [][]byte) []byte {
	var out []byte
	for i, e := range list {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return out
}

func framingName(f Framing) string {
	switch f {
	case NoBody:
		return "NoBody"
	case LengthBody:
		return "LengthBody"
	case ChunkedBody:
		return "ChunkedBody"
	case CloseBody:
		return "CloseBody"
	}
	return fmt.Sprintf("Framing(%d)", f)
}

func fieldLines(fields []Field) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = string(f.Name) + ": " + string(f.Value)
	}
	return out
}

// diffLines returns a line diff of want and got, "-" for lines only in
// want and "+" for lines only in got, or "" when they are equal.
func diffLines(want, got []string) string {
	// Longest common subsequence, small inputs only.
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	same := true
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i] == got[j]:
			fmt.Fprintf(&b, " %q\n", want[i])
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "+%q\n", got[j])
			j, same = j+1, false
		default:
			fmt.Fprintf(&b, "-%q\n", want[i])
			i, same = i+1, false
		}
	}
	if same {
		return ""
	}
	return b.String()
}

// errName names the sentinel err is, for failure messages.
func errName(err error) string {
	names := map[error]string{
		ErrNeedMore: "ErrNeedMore", ErrBareCR: "ErrBareCR", ErrBareLF: "ErrBareLF", ErrObsFold: "ErrObsFold",
		ErrSpaceBeforeColon: "ErrSpaceBeforeColon", ErrFieldName: "ErrFieldName", ErrFieldValue: "ErrFieldValue",
		ErrMethod: "ErrMethod", ErrTarget: "ErrTarget", ErrRequestLine: "ErrRequestLine", ErrVersion: "ErrVersion",
		ErrStatusLine: "ErrStatusLine", ErrContentLength: "ErrContentLength", ErrDuplicateLength: "ErrDuplicateLength",
		ErrLengthAndEncoding: "ErrLengthAndEncoding", ErrChunkedNotFinal: "ErrChunkedNotFinal",
		ErrEncodingHTTP10: "ErrEncodingHTTP10", ErrBadEncoding: "ErrBadEncoding", ErrMissingHost: "ErrMissingHost",
		ErrDuplicateHost: "ErrDuplicateHost", ErrHost: "ErrHost", ErrURITooLong: "ErrURITooLong",
		ErrHeadTooLarge: "ErrHeadTooLarge", ErrTooManyFields: "ErrTooManyFields", ErrUnknownEncoding: "ErrUnknownEncoding", ErrCodingNotForwarded: "ErrCodingNotForwarded",
		ErrConnect: "ErrConnect", ErrHTTPVersion: "ErrHTTPVersion", ErrChunkSize: "ErrChunkSize", ErrChunkExt: "ErrChunkExt",
		ErrChunkLine: "ErrChunkLine", ErrChunkData: "ErrChunkData", ErrTrailer: "ErrTrailer", ErrTrailerTooBig: "ErrTrailerTooBig",
	}
	if err == nil {
		return "nil"
	}
	if s, ok := names[err]; ok {
		return s
	}
	return fmt.Sprintf("%T", err)
}

// chromeNavigation is the head of a page navigation as Chrome sends it.
const chromeNavigation = "GET /docs/index.html?tab=api HTTP/1.1\r\n" +
	"Host: localhost:8080\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\", \"Google Chrome\";v=\"131\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"sec-ch-ua-platform: \"Linux\"\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Sec-Fetch-User: ?1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Referer: http://localhost:8080/docs/\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\n" +
	"Cookie: session=4f2a9c0e1b7d4e6f8a3c5b2d9e0f1a7c; theme=dark; _ga=GA1.1.123456789.1700000000\r\n" +
	"If-None-Match: \"5f3e-1a2b3c\"\r\n" +
	"\r\n"

// manyFieldsResponse is a response with the fields a dev server sends.
const manyFieldsResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Thu, 21 Nov 2024 08:00:00 GMT\r\nServer: dev\r\nContent-Type: text/html; charset=utf-8\r\n" +
	"Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\nExpires: 0\r\n" +
	"ETag: \"abc\"\r\nLast-Modified: Wed, 20 Nov 2024 08:00:00 GMT\r\nVary: Accept-Encoding\r\n" +
	"Set-Cookie: a=1; Path=/; HttpOnly\r\nSet-Cookie: b=2; Path=/; SameSite=Lax\r\n" +
	"Content-Security-Policy: default-src 'self'; script-src 'self' 'unsafe-inline'\r\n" +
	"X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n" +
	"Strict-Transport-Security: max-age=0\r\nAccess-Control-Allow-Origin: *\r\nX-Request-Id: 0123456789abcdef\r\n" +
	"Content-Length: 13\r\n\r\n<p>hello</p>\n"

// validStreams are byte streams of valid messages, back to back: each
// message is checked at every truncation point.
var validStreams = []struct {
	name     string
	in       string
	response bool
}{
	{name: "browser GET", in: chromeNavigation},
	{name: "POST with Content-Length body", in: "POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nq=42&x=1234"},
	{name: "chunked with extensions and trailers", in: "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"5;a=b\r\nhello\r\n1A ; name=\"q\\\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 42\r\nX-Other:\r\n\r\n"},
	{name: "pipelined pair", in: "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"},
	{name: "CRLF between pipelined requests", in: "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\r\nGET /a HTTP/1.0\r\n\r\n"},
	{name: "upgrade request", in: "GET /.reloadproxy/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"},
	{name: "response with many fields", response: true, in: manyFieldsResponse},
	{name: "interim then chunked response", response: true, in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"},
	{name: "request-line of 8 KiB", in: requestLine(MaxRequestLine) + "Host: a\r\n\r\n"},
	{name: "status-line of 8 KiB", response: true, in: "HTTP/1.1 200 " + strings.Repeat("r", MaxRequestLine-len("HTTP/1.1 200 \r")) + "\r\nContent-Length: 0\r\n\r\n"},
	{name: "pipelined responses", response: true, in: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"},
}

// parsedHead is what the truncation and fuzz tests need of either head.
type parsedHead struct {
	n       int
	err     error
	framing Framing
	length  int64
	fields  []string
}

func parseRequest(h *RequestHead, b []byte) parsedHead {
	n, err := h.Parse(b)
	p := parsedHead{n: n, err: err}
	if err == nil {
		p.fields = fieldLines(h.Fields)
		switch {
		case h.Chunked:
			p.framing = ChunkedBody
		case h.ContentLength > 0:
			p.framing, p.length = LengthBody, h.ContentLength
		}
	}
	return p
}

func parseResponse(h *ResponseHead, b []byte) parsedHead {
	n, err := h.Parse(b)
	p := parsedHead{n: n, err: err}
	if err == nil {
		p.fields = fieldLines(h.Fields)
		p.framing, p.length = h.BodyFraming(false), h.ContentLength
	}
	return p
}

// TestEveryTruncation feeds every prefix of every message of validStreams:
// a prefix of a valid head is ErrNeedMore, never an error and never a
// head; the whole head parses to the same length whatever follows it.
func TestEveryTruncation(t *testing.T) {
	var req RequestHead
	var resp ResponseHead
	for _, st := range validStreams {
		t.Run(st.name, func(t *testing.T) {
			parse := func(b []byte) parsedHead {
				if st.response {
					return parseResponse(&resp, b)
				}
				return parseRequest(&req, b)
			}
			in := []byte(st.in)
			messages := 0
			for off := 0; off < len(in); messages++ {
				rest := in[off:]
				head := parse(rest)
				if head.err != nil {
					t.Fatalf("message %d at %d: %v", messages, off, head.err)
				}
				for i := 0; i < head.n; i++ {
					if got := parse(rest[:i]); got.err != ErrNeedMore {
						t.Fatalf("message %d: prefix of %d/%d bytes %q: n=%d err=%v, want ErrNeedMore", messages, i, head.n, rest[:i], got.n, got.err)
					}
				}
				for i := head.n; i <= len(rest); i++ {
					got := parse(rest[:i])
					if got.err != nil || got.n != head.n {
						t.Fatalf("message %d with %d bytes after the head: n=%d err=%v, want n=%d", messages, i-head.n, got.n, got.err, head.n)
					}
					if d := diffLines(head.fields, got.fields); d != "" {
						t.Fatalf("message %d with %d bytes after the head: fields (-want +got):\n%s", messages, i-head.n, d)
					}
				}
				off += head.n
				switch head.framing {
				case LengthBody:
					off += int(head.length)
				case ChunkedBody:
					off += checkChunkedSplits(t, in[off:])
				case CloseBody:
					off = len(in)
				}
				if off > len(in) {
					t.Fatalf("message %d: body runs past the input", messages)
				}
			}
			if messages == 0 {
				t.Fatal("no messages")
			}
		})
	}
}

// scanSplit scans b in two Scan calls split at k, as a body arriving in two
// reads is scanned; the second call is made only if the first consumed all
// of its part without ending the body.
func scanSplit(b []byte, k int) (n int, done bool, err error) {
	var s ChunkedScanner
	n, err = s.Scan(b[:k])
	if err == nil && !s.Done() && n == k {
		var m int
		m, err = s.Scan(b[k:])
		n += m
	}
	return n, s.Done(), err
}

// checkChunkedSplits checks that a valid chunked body at the start of b
// scans the same at every split point, that every prefix of it is
// incomplete but valid, and returns its length.
func checkChunkedSplits(t *testing.T, b []byte) int {
	t.Helper()
	var s ChunkedScanner
	n, err := s.Scan(b)
	if err != nil || !s.Done() {
		t.Fatalf("chunked body %q: n=%d err=%v done=%v", b, n, err, s.Done())
	}
	for i := 0; i < n; i++ {
		s.Reset()
		if m, err := s.Scan(b[:i]); m != i || err != nil || s.Done() {
			t.Fatalf("prefix of %d/%d bytes: n=%d err=%v done=%v, want %d, nil, false", i, n, m, err, s.Done(), i)
		}
	}
	for k := 0; k <= len(b); k++ {
		if m, done, err := scanSplit(b, k); m != n || !done || err != nil {
			t.Fatalf("split at %d: n=%d done=%v err=%v, want %d, true, nil", k, m, done, err, n)
		}
	}
	// One byte per call, as from a slow client.
	s.Reset()
	m := 0
	for m < len(b) && !s.Done() {
		k, err := s.Scan(b[m : m+1])
		if err != nil {
			t.Fatalf("byte at a time: %v at %d", err, m)
		}
		m += k
	}
	if m != n {
		t.Fatalf("byte at a time: n=%d, want %d", m, n)
	}
	return n
}

// TestFragmentNotInAuthority: an absolute-form target's authority ends
// before a fragment, so "#b.localhost" can neither pass the host check as
// a name under .localhost nor reach the backend in Host. (Not a
// requestCases row: net/http refuses the target, and that difference is
// not the point.)
func TestFragmentNotInAuthority(t *testing.T) {
	var h RequestHead
	if _, err := h.Parse([]byte("GET http://a#b.localhost/ HTTP/1.1\r\nHost: a\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := string(h.EffectiveHost()); got != "a" {
		t.Errorf("EffectiveHost() = %q, want %q", got, "a")
	}
	out := string(AppendRequestHead(nil, &h, &RequestRewrite{}))
	if !strings.HasPrefix(out, "GET / HTTP/1.1\r\nHost: a\r\n") {
		t.Errorf("written head %q, want it to start GET / with Host: a", out)
	}
}
