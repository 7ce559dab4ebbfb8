package htmlinject

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"reloadproxy/httpwire"
)

func TestRewritePolicy(t *testing.T) {
	const host = "localhost:8000"
	const script, socket = "/.reloadproxy/client.js", "/.reloadproxy/ws"
	tests := []struct {
		name      string
		policy    string
		want      string // NONCE stands for the generated nonce
		wantNonce bool
	}{
		{"self allows both", "default-src 'self'", "default-src 'self'", false},
		{"star allows both", "script-src *; connect-src *", "script-src *; connect-src *", false},
		{"nonce-based script-src gets a nonce", "script-src 'nonce-abc'; connect-src 'self'",
			"script-src 'nonce-abc' 'nonce-NONCE'; connect-src 'self'", true},
		{"hash-based", "script-src 'sha256-xyz=' 'self'", "script-src 'sha256-xyz=' 'self' 'nonce-NONCE'", true},
		{"strict-dynamic ignores self", "script-src 'strict-dynamic' 'self' 'nonce-a'; default-src 'self'",
			"script-src 'strict-dynamic' 'self' 'nonce-a' 'nonce-NONCE'; default-src 'self'", true},
		{"unsafe-inline keeps working: URL not nonce", "script-src 'unsafe-inline'; connect-src https://api.test",
			"script-src 'unsafe-inline' http://localhost:8000/.reloadproxy/client.js; connect-src https://api.test ws://localhost:8000/.reloadproxy/ws", false},
		{"none is replaced", "script-src 'none'; connect-src 'none'",
			"script-src http://localhost:8000/.reloadproxy/client.js; connect-src ws://localhost:8000/.reloadproxy/ws", false},
		{"default-src is copied, not widened", "default-src https://cdn.test; img-src *",
			"default-src https://cdn.test; img-src *; script-src https://cdn.test http://localhost:8000/.reloadproxy/client.js; connect-src https://cdn.test ws://localhost:8000/.reloadproxy/ws", false},
		{"script-src-elem wins over script-src", "script-src-elem 'nonce-q'; script-src 'self'; connect-src 'self'",
			"script-src-elem 'nonce-q' 'nonce-NONCE'; script-src 'self'; connect-src 'self'", true},
		{"no fetch directives", "frame-ancestors 'none'", "frame-ancestors 'none'", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var plan cspPlan
			got := string(rewritePolicy([]byte(tt.policy), []byte(host), script, socket, &plan))
			if (len(plan.nonce) > 0) != tt.wantNonce {
				t.Fatalf("nonce %q, want one: %v", plan.nonce, tt.wantNonce)
			}
			want := strings.ReplaceAll(tt.want, "NONCE", string(plan.nonce))
			if got != want {
				t.Errorf("\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestRewritePolicyHostileInput(t *testing.T) {
	const script, socket = "/.reloadproxy/client.js", "/.reloadproxy/ws"
	var plan cspPlan
	// A Host with sub-delims would end the directive early: no source of
	// its own, the policy is left as it was.
	policy := "script-src 'unsafe-inline'; connect-src https://api.test"
	if got := string(rewritePolicy([]byte(policy), []byte("a;script-src *"), script, socket, &plan)); got != policy {
		t.Errorf("hostile Host: policy became %q", got)
	}
	// U+00A0 is not whitespace for a browser: the token stays whole.
	policy = "img-src a\u00a0b; script-src 'nonce-x'"
	got := string(rewritePolicy([]byte(policy), []byte("localhost:8000"), script, socket, &plan))
	if !strings.HasPrefix(got, "img-src a\u00a0b; script-src 'nonce-x' 'nonce-") {
		t.Errorf("non-ASCII space: policy became %q", got)
	}
}

// TestRewritePolicyList: a field value is a list of policies, each enforced
// on its own (CSP3 "parse a serialized CSP list"); each one is amended by
// the single-policy rules of TestRewritePolicy, and only where it needs it.
func TestRewritePolicyList(t *testing.T) {
	const host = "localhost:8000"
	const script, socket = "/.reloadproxy/client.js", "/.reloadproxy/ws"
	const scriptURL, socketURL = "http://localhost:8000/.reloadproxy/client.js", "ws://localhost:8000/.reloadproxy/ws"
	tests := []struct {
		name      string
		list      string
		want      string // NONCE stands for the generated nonce
		wantNonce bool
	}{
		{"default-src policy then script-src policy", "default-src https://cdn.example, script-src https://cdn.example",
			"default-src https://cdn.example; script-src https://cdn.example " + scriptURL + "; connect-src https://cdn.example " + socketURL +
				", script-src https://cdn.example " + scriptURL, false},
		{"nonce stays in its policy", "script-src 'nonce-abc', img-src *", "script-src 'nonce-abc' 'nonce-NONCE', img-src *", true},
		{"first policy amended for the socket only", "script-src 'self'; connect-src 'none', img-src *",
			"script-src 'self'; connect-src " + socketURL + ", img-src *", false},
		{"one nonce for every policy that needs one", "script-src 'nonce-a', script-src 'sha256-x=' 'strict-dynamic'",
			"script-src 'nonce-a' 'nonce-NONCE', script-src 'sha256-x=' 'strict-dynamic' 'nonce-NONCE'", true},
		{"default-src 'none' in a later policy", "connect-src 'self', default-src 'none'",
			"connect-src 'self', default-src 'none'; script-src " + scriptURL + "; connect-src " + socketURL, false},
		{"empty policies between commas are kept", ",, script-src 'none' ,,connect-src 'none',",
			",, script-src " + scriptURL + ",, connect-src " + socketURL + ",", false},
		{"whitespace around an unchanged policy is kept", "script-src 'self' ,\tconnect-src https://api.test\t",
			"script-src 'self' , connect-src https://api.test " + socketURL, false},
		{"directive names in other cases", "DEFAULT-SRC 'self', Script-Src 'Nonce-abc'; CONNECT-SRC 'SELF'",
			"DEFAULT-SRC 'self', script-src 'Nonce-abc' 'nonce-NONCE'; connect-src 'SELF'", true},
		{"no policy restricts the client", "default-src 'self', frame-ancestors 'none', img-src *",
			"default-src 'self', frame-ancestors 'none', img-src *", false},
		{"only commas", " , ,", " , ,", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var plan cspPlan
			got := string(rewritePolicy([]byte(tt.list), []byte(host), script, socket, &plan))
			if (len(plan.nonce) > 0) != tt.wantNonce {
				t.Fatalf("nonce %q, want one: %v (policy became %q)", plan.nonce, tt.wantNonce, got)
			}
			want := strings.ReplaceAll(tt.want, "NONCE", string(plan.nonce))
			if got != want {
				t.Errorf("\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestAmendCSPPolicyLists: the policies of every field and every list share
// the one nonce the tag carries.
func TestAmendCSPPolicyLists(t *testing.T) {
	var resp httpwire.ResponseHead
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" +
		"Content-Security-Policy: script-src 'nonce-abc', img-src *\r\n" +
		"Content-Security-Policy: img-src 'self', script-src 'strict-dynamic' 'nonce-def'\r\n\r\n"
	if _, err := resp.Parse([]byte(head)); err != nil {
		t.Fatal(err)
	}
	policies, tag := AmendCSP(nil, &resp, []byte(testTag), []byte("localhost:8000"), "/.reloadproxy/client.js", "/.reloadproxy/ws")
	m := regexp.MustCompile(`^<script nonce="([A-Za-z0-9_-]{22})" src=`).FindSubmatch(tag)
	if m == nil {
		t.Fatalf("tag %q carries no nonce", tag)
	}
	nonce := string(m[1])
	want := []string{
		"script-src 'nonce-abc' 'nonce-" + nonce + "', img-src *",
		"img-src 'self', script-src 'strict-dynamic' 'nonce-def' 'nonce-" + nonce + "'",
	}
	if got := fmt.Sprintf("%q", policies); got != fmt.Sprintf("%q", want) {
		t.Errorf("\n got %s\nwant %q", got, want)
	}
}
