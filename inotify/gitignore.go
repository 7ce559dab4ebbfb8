package inotify

import (
	"bytes"
	"strings"
)

// Gitignore is the parsed content of one .gitignore file (gitignore(5)).
// Its patterns are relative to the directory holding the file. The zero
// value ignores nothing. A Gitignore is immutable and safe for concurrent
// use.
//
// Supported: comments (#), blank lines, trailing spaces (ignored unless
// escaped with \), \ escapes (\#, \!, \ , \*), negation (!), directory-only
// patterns (dir/), anchoring (a leading or middle /), *, ?, [...] classes
// with ! or ^ negation, ranges and [:alpha:]-style classes, and the **
// forms (**/x, x/**, a/**/b); a ** elsewhere is a plain *. Matching is
// git's wildmatch with WM_PATHNAME, case sensitive (core.ignoreCase=false).
type Gitignore struct {
	rules []gitignoreRule
}

type gitignoreRule struct {
	pattern  string // wildmatch pattern, leading '/' and trailing '/' removed
	negate   bool   // "!pattern": re-include
	dirOnly  bool   // "pattern/": directories only
	basename bool   // no '/' in pattern: match the base name at any depth
}

// ParseGitignore parses the content of a .gitignore file. Invalid lines are
// kept and simply never match, as in git.
func ParseGitignore(data []byte) Gitignore {
	var g Gitignore
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		line = trimTrailingSpaces(line)
		if len(line) == 0 {
			continue
		}
		var r gitignoreRule
		if line[0] == '!' {
			r.negate = true
			line = line[1:]
		}
		if n := len(line); n > 0 && line[n-1] == '/' {
			r.dirOnly = true
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		r.basename = bytes.IndexByte(line, '/') < 0
		if line[0] == '/' {
			line = line[1:]
		}
		r.pattern = string(line)
		g.rules = append(g.rules, r)
	}
	return g
}

// trimTrailingSpaces removes trailing spaces that are not escaped with a
// backslash, as git's trim_trailing_spaces does.
func trimTrailingSpaces(line []byte) []byte {
	end := -1 // start of the current run of trailing spaces
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ':
			if end < 0 {
				end = i
			}
		case '\\':
			i++ // the next byte is literal
			end = -1
			if i >= len(line) {
				return line
			}
		default:
			end = -1
		}
	}
	if end >= 0 {
		return line[:end]
	}
	return line
}

// Match reports whether the path rel (slash-separated, relative to the
// directory of this .gitignore) is ignored by its own patterns, and whether
// any pattern matched at all (the last matching pattern decides; matched
// false means this file has no opinion). It does not look at rel's parent
// directories; see gitignore(5): a file in an ignored directory is ignored
// whatever its own patterns say, which the caller checks.
func (g Gitignore) Match(rel string, isDir bool) (ignored, matched bool) {
	base := baseName(rel)
	for i := len(g.rules) - 1; i >= 0; i-- {
		r := &g.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		subject := rel
		if r.basename {
			subject = base
		}
		if wildmatch(r.pattern, subject) {
			return !r.negate, true
		}
	}
	return false, false
}

// ignoreSet holds the .gitignore files that apply to one watch root: those
// inside it, keyed by directory, and those above it up to the repository's
// top directory (plus .git/info/exclude there).
type ignoreSet struct {
	levels map[string]Gitignore // directory relative to the root ("" = root)
	above  []aboveIgnore        // nearest first; info/exclude last
}

// aboveIgnore is a .gitignore in a parent directory of the root.
type aboveIgnore struct {
	prefix string // the root's path relative to that directory, with a trailing '/'
	g      Gitignore
}

// set replaces the rules of the .gitignore in dir; an empty data removes it.
func (s *ignoreSet) set(dir string, data []byte) {
	g := ParseGitignore(data)
	if len(g.rules) == 0 {
		delete(s.levels, dir)
		return
	}
	if s.levels == nil {
		s.levels = make(map[string]Gitignore)
	}
	s.levels[dir] = g
}

// match applies the .gitignore files from rel's directory up to the top
// (the deepest one with an opinion decides) without looking at rel's
// parent directories themselves. Used while walking down, where the parents
// are known not to be ignored.
func (s *ignoreSet) match(rel string, isDir bool) bool {
	if len(s.levels) > 0 {
		dir := rel
		for {
			i := strings.LastIndexByte(dir, '/')
			last := i < 0
			if last {
				dir = ""
			} else {
				dir = dir[:i]
			}
			if g, ok := s.levels[dir]; ok {
				sub := rel
				if dir != "" {
					sub = rel[len(dir)+1:]
				}
				if ign, ok := g.Match(sub, isDir); ok {
					return ign
				}
			}
			if last {
				break
			}
		}
	}
	for i := range s.above {
		a := &s.above[i]
		if ign, ok := a.g.Match(a.prefix+rel, isDir); ok {
			return ign
		}
	}
	return false
}

// ignored reports whether rel is ignored, including because one of its
// parent directories (below the root) is: git never looks inside an
// ignored directory, so a negation cannot re-include a file there.
func (s *ignoreSet) ignored(rel string, isDir bool) bool {
	if len(s.levels) == 0 && len(s.above) == 0 {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && s.match(rel[:i], true) {
			return true
		}
	}
	return s.match(rel, isDir)
}

// The results of dowild, as in git's wildmatch.c: the aborts prune the
// backtracking when no later star position can succeed.
const (
	wmNoMatch = iota
	wmMatch
	wmAbortAll
	wmAbortToStarStar
)

// wildmatch reports whether text matches the gitignore pattern p with
// git's wildmatch(WM_PATHNAME) semantics: '*', '?' and classes never match
// '/'; "**" matches across '/' when it is a whole segment.
func wildmatch(p, text string) bool {
	return dowild(p, 0, text, 0) == wmMatch
}

// at returns s[i], or 0 past the end, mimicking C's NUL terminator.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// dowild is git's dowild (wildmatch.c) over Go strings, p and t being the
// positions in pat and text.
func dowild(pat string, p int, text string, t int) int {
	for ; p < len(pat); p, t = p+1, t+1 {
		pc := pat[p]
		tc := at(text, t)
		if t >= len(text) && pc != '*' {
			return wmAbortAll
		}
		switch pc {
		case '\\':
			// A trailing backslash matches nothing.
			p++
			if p >= len(pat) || tc != pat[p] {
				return wmNoMatch
			}
		case '?':
			if tc == '/' {
				return wmNoMatch
			}
		case '*':
			matchSlash := false
			p++
			if at(pat, p) == '*' {
				prev := p - 2
				for at(pat, p) == '*' {
					p++
				}
				if (prev < 0 || pat[prev] == '/') &&
					(p >= len(pat) || pat[p] == '/' || (pat[p] == '\\' && at(pat, p+1) == '/')) {
					// "**/" may match no directory at all.
					if at(pat, p) == '/' && dowild(pat, p+1, text, t) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				}
			}
			if p >= len(pat) {
				// A trailing "**" matches everything, a trailing "*" only
				// what has no more slashes.
				if !matchSlash && strings.IndexByte(text[t:], '/') >= 0 {
					return wmNoMatch
				}
				return wmMatch
			}
			if !matchSlash && pat[p] == '/' {
				// "*/" matches the rest of this segment.
				i := strings.IndexByte(text[t:], '/')
				if i < 0 {
					return wmNoMatch
				}
				t += i
				// The slash is matched by the loop's next round.
				continue
			}
			for {
				if t >= len(text) {
					break
				}
				// A literal after the star: skip to its next occurrence.
				if c := pat[p]; !isWildSpecial(c) {
					for t < len(text) && (matchSlash || text[t] != '/') && text[t] != c {
						t++
					}
					if t >= len(text) || text[t] != c {
						if matchSlash {
							return wmAbortAll
						}
						return wmAbortToStarStar
					}
				}
				m := dowild(pat, p, text, t)
				if m != wmNoMatch {
					if !matchSlash || m != wmAbortToStarStar {
						return m
					}
				} else if !matchSlash && text[t] == '/' {
					return wmAbortToStarStar
				}
				t++
			}
			return wmAbortAll
		case '[':
			var ok bool
			p, ok = matchClass(pat, p, tc)
			if p < 0 {
				return wmAbortAll
			}
			if !ok || tc == '/' {
				return wmNoMatch
			}
			// p is at the closing ']'.
		default:
			if tc != pc {
				return wmNoMatch
			}
		}
	}
	if t < len(text) {
		return wmNoMatch
	}
	return wmMatch
}

// matchClass matches c against the bracket expression starting at
// pat[p] == '['. It returns the index of the closing ']' (or -1 when the
// class is not closed or malformed, which aborts the match) and whether c
// is in the class.
func matchClass(pat string, p int, c byte) (int, bool) {
	p++
	negated := false
	if pc := at(pat, p); pc == '!' || pc == '^' {
		negated = true
		p++
	}
	matched := false
	var prev byte
	pc := at(pat, p)
	for {
		switch {
		case pc == 0:
			return -1, false
		case pc == '\\':
			p++
			pc = at(pat, p)
			if pc == 0 {
				return -1, false
			}
			if c == pc {
				matched = true
			}
		case pc == '-' && prev != 0 && at(pat, p+1) != 0 && at(pat, p+1) != ']':
			p++
			pc = at(pat, p)
			if pc == '\\' {
				p++
				pc = at(pat, p)
				if pc == 0 {
					return -1, false
				}
			}
			if c >= prev && c <= pc {
				matched = true
			}
			pc = 0 // a range cannot start a range
		case pc == '[' && at(pat, p+1) == ':':
			s := p + 2
			end := strings.IndexByte(pat[s:], ']')
			if end < 0 {
				return -1, false
			}
			end += s
			if end-1 < s || pat[end-1] != ':' {
				// No ":]": a plain '['.
				if c == '[' {
					matched = true
				}
				break
			}
			in, known := posixClass(pat[s:end-1], c)
			if !known {
				return -1, false
			}
			if in {
				matched = true
			}
			p = end
			pc = 0
		default:
			if c == pc {
				matched = true
			}
		}
		prev = pc
		p++
		pc = at(pat, p)
		if pc == ']' {
			break
		}
	}
	return p, matched != negated
}

// posixClass tells whether c is in the named [:class:] and whether the
// name is known.
func posixClass(name string, c byte) (in, known bool) {
	isUpper := c >= 'A' && c <= 'Z'
	isLower := c >= 'a' && c <= 'z'
	isDigit := c >= '0' && c <= '9'
	isAlpha := isUpper || isLower
	isPrint := c >= 0x20 && c < 0x7f
	switch name {
	case "alnum":
		return isAlpha || isDigit, true
	case "alpha":
		return isAlpha, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 0x20 || c == 0x7f, true
	case "digit":
		return isDigit, true
	case "graph":
		return isPrint && c != ' ', true
	case "lower":
		return isLower, true
	case "print":
		return isPrint, true
	case "punct":
		return isPrint && c != ' ' && !isAlpha && !isDigit, true
	case "space":
		return c == ' ' || (c >= '\t' && c <= '\r'), true
	case "upper":
		return isUpper, true
	case "xdigit":
		return isDigit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}

func isWildSpecial(c byte) bool {
	return c == '*' || c == '?' || c == '[' || c == '\\'
}
