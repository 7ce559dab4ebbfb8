package httpwire

import "testing"

// TestForwardedChain: of a client's Forwarded fields only the for= and by=
// pairs pass on, element by element, however the values are quoted.
func TestForwardedChain(t *testing.T) {
	tests := []struct {
		name   string
		fields []string // Forwarded field values, in order
		want   string
	}{
		{"for passes", []string{"for=192.0.2.1"}, "for=192.0.2.1"},
		{"host and proto go", []string{"for=192.0.2.1;host=evil.example;proto=https"}, "for=192.0.2.1"},
		{"names in any case", []string{"HOST=e;For=a;PROTO=https;bY=b"}, "For=a;bY=b"},
		{"an element left empty goes", []string{"host=evil.example, for=a, proto=https"}, "for=a"},
		{"only claims: nothing", []string{"host=evil.example;proto=https"}, ""},
		{"several fields are one list", []string{"for=a", "proto=https", "by=b"}, "for=a, by=b"},
		{"quoted separators stay inside the value", []string{`for="[2001:db8::1]:80";host="a,b;proto=https"`}, `for="[2001:db8::1]:80"`},
		{"an escaped quote does not end the value", []string{`for="a\";host=x", for=b`}, "for=b"},
		{"an unterminated quote swallows the rest", []string{`for=a, host="x, for=b`}, "for=a"},
		{"a claim hidden in an unterminated quote does not pass", []string{`for="x;host=evil`, "for=b"}, "for=b"},
		{"white space around pairs is dropped", []string{" for=a ;  by=b ,for=c "}, "for=a;by=b, for=c"},
		{"an empty value goes", []string{"for=;by=b"}, "by=b"},
		{"a value that is not a token goes", []string{"for=a b;by=c"}, "by=c"},
		{"no equals sign goes", []string{"for;by=c"}, "by=c"},
		{"empty elements and pairs", []string{",;, for=a;;"}, "for=a"},
		// A value must be a node, so that no parser that searches the
		// field for "host=" or "proto=" finds a client's.
		{"a claim quoted inside for=", []string{`for="_x;host=evil.com"`}, ""},
		{"a claim quoted inside by=", []string{`by="proto=https", for=a`}, "for=a"},
		{"a claim behind an escaped quote", []string{`for="\";host=evil.com;x=\""`}, ""},
		{"a comma inside a quoted value", []string{`for="a,host=evil.com"`}, ""},
		{"quotes inside a value", []string{`for="a"b"c"`, `for="a" "b"`}, ""},
		{"an empty quoted value", []string{`for=""`}, ""},
		{"obs-text", []string{"for=\"\xff\""}, ""},
		{"nodes pass", []string{`for="[2001:db8::1]:4711";by=_hidden, for=unknown, for="192.0.2.4:_p"`}, `for="[2001:db8::1]:4711";by=_hidden, for=unknown, for="192.0.2.4:_p"`},
		{"unquoted colon is no token", []string{"for=192.0.2.4:80;by=b"}, "by=b"},
		{"a parameter once per element", []string{"for=a;for=b;by=c;by=d, for=e"}, "for=a;by=c, for=e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields []Field
			for _, v := range tt.fields {
				fields = append(fields, Field{Name: []byte("Forwarded"), Value: []byte(v)})
			}
			fields = append(fields, Field{Name: []byte("Host"), Value: []byte("for=x")})
			if got := string(appendForwardedChain(nil, fields)); got != tt.want {
				t.Errorf("%q: got %q, want %q", tt.fields, got, tt.want)
			}
		})
	}
}
