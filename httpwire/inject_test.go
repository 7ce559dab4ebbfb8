package httpwire

import (
	"bytes"
	"testing"
)

const testTag = "<script src=\"/.reloadproxy/client.js\"></script>"

func TestInjectHTMLInsertionPoint(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"after head", "<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>",
			"<!DOCTYPE html><html><head>" + testTag + "<title>x</title></head><body>hi</body></html>"},
		{"head with attributes", `<html><head lang="en" data-x='a>b'><meta charset=utf-8>`,
			`<html><head lang="en" data-x='a>b'>` + testTag + `<meta charset=utf-8>`},
		{"upper case HEAD", "<HTML><HEAD>\n<TITLE>", "<HTML><HEAD>" + testTag + "\n<TITLE>"},
		{"head with newline before >", "<head\n>x", "<head\n>" + testTag + "x"},
		{"header is not head", "<body><header>h</header>", testTag + "<body><header>h</header>"},
		{"before body without head", "<html><body class=\"x\">hi", "<html>" + testTag + "<body class=\"x\">hi"},
		{"BODY upper case", "<BODY>", testTag + "<BODY>"},
		{"bodyx is not body", "<bodyx><p>", "<bodyx><p>" + testTag},
		{"commented head is skipped", "<!-- <head> --><head>x", "<!-- <head> --><head>" + testTag + "x"},
		{"comment with dashes", "<!-- a -- b --->  <body>", "<!-- a -- b --->  " + testTag + "<body>"},
		{"neither: at the end", "<p>fragment</p>", "<p>fragment</p>" + testTag},
		{"empty document", "", testTag},
		{"lone < at the end", "a <", "a <" + testTag},
		{"only a head prefix", "<hea", "<hea" + testTag},
		{"first of two heads", "<head><head>", "<head>" + testTag + "<head>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(InjectHTML(nil, []byte(tt.in), []byte(testTag)))
			if got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
			// Every split into two writes gives the same output.
			for i := 0; i <= len(tt.in); i++ {
				var j Injector
				j.Reset([]byte(testTag))
				var out []byte
				emit := func(p []byte) error {
					if len(p) == 0 {
						t.Fatalf("split %d: empty emit", i)
					}
					out = append(out, p...)
					return nil
				}
				j.Write([]byte(tt.in[:i]), emit)
				j.Write([]byte(tt.in[i:]), emit)
				j.Close(emit)
				if string(out) != tt.want {
					t.Fatalf("split at %d:\n got %q\nwant %q", i, out, tt.want)
				}
			}
		})
	}
}

func TestInjectByteAtATime(t *testing.T) {
	doc := []byte("<!doctype html>\n<!-- c --><html lang=en>\n<head data-a=\"1\">\n<title>t</title></head><body></body></html>")
	want := InjectHTML(nil, doc, []byte(testTag))
	var j Injector
	j.Reset([]byte(testTag))
	var out []byte
	emit := func(p []byte) error { out = append(out, p...); return nil }
	for i := range doc {
		j.Write(doc[i:i+1], emit)
	}
	j.Close(emit)
	if !bytes.Equal(out, want) {
		t.Errorf("\n got %q\nwant %q", out, want)
	}
	if bytes.Count(out, []byte(testTag)) != 1 || len(out) != len(doc)+len(testTag) {
		t.Errorf("tag must appear exactly once, adding exactly %d bytes: %q", len(testTag), out)
	}
}
