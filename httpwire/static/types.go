package static

import (
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// webTypes are the types of common web files, so that they do not depend
// on the machine's /etc/mime.types (which may say application/javascript,
// or lack .mjs and .wasm).
var webTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".cjs":         "text/javascript; charset=utf-8",
	".json":        "application/json", // always UTF-8, no charset parameter (RFC 8259 §11)
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".xml":         "text/xml; charset=utf-8",
	".svg":         "image/svg+xml",
	".wasm":        "application/wasm",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".pdf":         "application/pdf",
}

// contentType picks the Content-Type of a file from the extension of the
// name it was asked by, else of its real name, else from its first bytes.
func contentType(base, real string, f *os.File) string {
	if t := typeByExtension(path.Ext(base)); t != "" {
		return t
	}
	if t := typeByExtension(filepath.Ext(real)); t != "" {
		return t
	}
	var buf [512]byte
	n, _ := f.ReadAt(buf[:], 0)
	if looksLikeText(buf[:n], n == len(buf)) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func typeByExtension(ext string) string {
	if ext == "" {
		return ""
	}
	if t, ok := webTypes[strings.ToLower(ext)]; ok {
		return t
	}
	t := mime.TypeByExtension(ext)
	if strings.HasPrefix(t, "text/") && !strings.Contains(t, "charset=") {
		t += "; charset=utf-8"
	}
	return t
}

// looksLikeText reports whether b is UTF-8 without the control bytes that
// mark binary data (those of the WHATWG MIME Sniffing standard). truncated
// says b was cut off, so a partial rune may end it.
func looksLikeText(b []byte, truncated bool) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c <= 0x08 || c == 0x0b || 0x0e <= c && c <= 0x1a || 0x1c <= c && c <= 0x1f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return truncated && !utf8.FullRune(b[i:])
		}
		i += size
	}
	return true
}
