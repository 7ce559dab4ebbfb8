package supervisor

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// errNotHTTP means the probe's connection did not start with an HTTP/1.x
// status line.
var errNotHTTP = errors.New("supervisor: no HTTP status line")

const (
	probeFirstBackoff = time.Millisecond
	probeMaxBackoff   = 50 * time.Millisecond
	probeDialTimeout  = time.Second
)

// probe returns once addr answers HTTP, with the number of attempts that
// took (1: it answered at once), or ctx.Err() when ctx is done. Each
// attempt connects, sends req (a HEAD request with Connection: close)
// and accepts any HTTP/1.x status line; a slow first response (a dev server
// compiling the page) may take up to readTimeout. Failed attempts are
// retried after 1 ms, doubling to 50 ms.
//
// A signal on kick (the backend printed something, which servers do right
// after they start listening) cuts the wait short and starts the backoff
// over, so a slow starter is not found up to 50 ms late. Kicked attempts
// are still at least 1 ms apart, so a chatty backend cannot make the probe
// spin. kick may be nil.
func probe(ctx context.Context, addr string, req []byte, readTimeout time.Duration, kick <-chan struct{}) (attempts int, err error) {
	backoff := probeFirstBackoff
	var t *time.Timer
	for {
		last := time.Now()
		attempts++
		if probeOnce(ctx, addr, req, readTimeout) == nil {
			return attempts, nil
		}
		if t == nil {
			t = time.NewTimer(backoff)
			defer t.Stop()
		} else {
			t.Reset(backoff)
		}
		backoff = min(backoff*2, probeMaxBackoff)
		select {
		case <-ctx.Done():
			return attempts, ctx.Err()
		case <-t.C:
		case <-kick:
			if wait := probeFirstBackoff - time.Since(last); wait > 0 {
				t.Reset(wait)
				select {
				case <-ctx.Done():
					return attempts, ctx.Err()
				case <-t.C:
				}
			}
			backoff = probeFirstBackoff
		}
	}
}

func probeOnce(ctx context.Context, addr string, req []byte, readTimeout time.Duration) error {
	d := net.Dialer{Timeout: probeDialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// Cancelling ctx unblocks the read below.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.SetDeadline(time.Now().Add(readTimeout)); err != nil {
		return err
	}
	if _, err := c.Write(req); err != nil {
		return err
	}
	var buf [12]byte // "HTTP/1.1 200"
	if _, err := io.ReadFull(c, buf[:]); err != nil {
		return err
	}
	if !isStatusLine(buf[:]) {
		return errNotHTTP
	}
	return nil
}

// isStatusLine reports whether b starts with "HTTP/1.x NNN" (RFC 9112
// section 4: status-line = HTTP-version SP status-code SP ...).
func isStatusLine(b []byte) bool {
	if len(b) < 12 || string(b[:7]) != "HTTP/1." || !isDigit(b[7]) || b[8] != ' ' {
		return false
	}
	return isDigit(b[9]) && isDigit(b[10]) && isDigit(b[11])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
