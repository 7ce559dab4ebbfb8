package htmlinject

import (
	"strings"
	"testing"
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
