//go:build linux

package inotify

import (
	"golang.org/x/sys/unix"
)

// fileNote is what the reader remembers of one file in an inotify-watched
// directory, to tell real edits from events that change nothing (see
// watchMask). Notes live in their directory's watchDir.notes, so they go
// with it; there are at most maxFileNotes in a Tree.
type fileNote struct {
	dirty   bool  // written (IN_MODIFY) or created since its last IN_CLOSE_WRITE
	stamped bool  // mtime and size below are what was last seen
	mtime   int64 // ns since the epoch
	size    int64
}

// maxFileNotes bounds the notes of a Tree. Stamps (notes that are not
// dirty) are only a precision cache for IN_ATTRIB and are dropped when the
// bound is reached; a dirty note that finds no room is reported at once
// instead (see fileOp), so the bound never loses a change.
const maxFileNotes = 4096

// fileOp decides what a file event in the inotify-watched directory d
// means: 0 when it is no change (or not one yet).
func (t *Tree) fileOp(d *watchDir, ev Event) Op {
	name := ev.Name
	switch {
	case ev.Mask&unix.IN_MODIFY != 0:
		// Not a change until the file is closed: remember it was written.
		if n, ok := d.notes[string(name)]; ok {
			if !n.dirty {
				n.dirty = true
				d.notes[string(name)] = n
			}
			return 0
		}
		if t.setNote(d, string(name), fileNote{dirty: true}) {
			return 0
		}
		return Write // no room to remember it: report it now
	case ev.Mask&unix.IN_CLOSE_WRITE != 0:
		n, ok := d.notes[string(name)]
		if !ok || !n.dirty {
			return 0 // opened for writing and closed without a write
		}
		n.dirty = false
		n.stamped = false
		var st unix.Stat_t
		if unix.Lstat(d.abs()+"/"+string(name), &st) == nil {
			n.stamped, n.mtime, n.size = true, st.Mtim.Nano(), st.Size
		}
		d.notes[string(name)] = n
		return Write
	case ev.Mask&unix.IN_ATTRIB != 0:
		if t.attribChanged(d, name) {
			return Write
		}
		return 0
	case ev.Mask&unix.IN_MOVED_TO != 0:
		t.dropNote(d, name) // another file now: what was seen is stale
		return Create
	case ev.Mask&unix.IN_MOVED_FROM != 0:
		t.dropNote(d, name)
		return Rename
	case ev.Mask&unix.IN_DELETE != 0:
		t.dropNote(d, name)
		return Remove
	case ev.Mask&unix.IN_CREATE != 0:
		// A new regular file is reported by its IN_CLOSE_WRITE, written
		// or not, unless it is a hard link (no write follows). Symlinks
		// and others: now.
		var st unix.Stat_t
		if unix.Lstat(d.abs()+"/"+string(name), &st) != nil {
			return 0 // gone already: its IN_DELETE follows
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 1 {
			if t.setNote(d, string(name), fileNote{dirty: true}) {
				return 0
			}
			return Write // no room to remember it: report it now
		}
		t.dropNote(d, name)
		return Create
	}
	return 0
}

// attribChanged reports whether an IN_ATTRIB on the file name in d is a
// real edit: its mtime or size differ from what was last seen of it, or,
// when nothing was seen of it, its mtime equals its ctime. touch(1) (and
// any utimensat(2) to "now") sets mtime and ctime to the same instant;
// chmod, chown, link count and xattr changes set only ctime. The state is
// the file's when the event is read, not when it happened: a touch followed
// at once by a chmod, read after both, is judged by the chmod. A touch to
// an explicit time (touch -d) counts only for a file seen before, and a
// chmod within the same clock tick as a write to a file not seen before
// counts (which does no harm: the write was a change).
func (t *Tree) attribChanged(d *watchDir, name []byte) bool {
	var st unix.Stat_t
	if unix.Lstat(d.abs()+"/"+string(name), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false // gone, or a symlink or device: attributes only
	}
	mtime := st.Mtim.Nano()
	n, ok := d.notes[string(name)]
	var changed bool
	if ok && n.stamped {
		changed = mtime != n.mtime || st.Size != n.size
	} else {
		changed = st.Mtim == st.Ctim
	}
	n.stamped, n.mtime, n.size = true, mtime, st.Size
	t.setNote(d, string(name), n)
	return changed
}

// setNote stores d's note for name. It reports false when the Tree holds
// maxFileNotes dirty notes already.
func (t *Tree) setNote(d *watchDir, name string, n fileNote) bool {
	if _, ok := d.notes[name]; !ok {
		if t.noteCount >= maxFileNotes && !t.evictStamps() {
			return false
		}
		if d.notes == nil {
			if len(t.noted) >= maxFileNotes {
				t.compactNoted()
			}
			d.notes = make(map[string]fileNote)
			t.noted = append(t.noted, d)
		}
		t.noteCount++
	}
	d.notes[name] = n
	return true
}

// dropNote forgets what was seen of the file name in d.
func (t *Tree) dropNote(d *watchDir, name []byte) {
	if _, ok := d.notes[string(name)]; ok {
		delete(d.notes, string(name))
		t.noteCount--
	}
}

// evictStamps drops every note that is not dirty, and reports whether
// there is room now.
func (t *Tree) evictStamps() bool {
	for _, d := range t.noted {
		for name, n := range d.notes {
			if !n.dirty {
				delete(d.notes, name)
				t.noteCount--
			}
		}
	}
	t.compactNoted()
	return t.noteCount < maxFileNotes
}

// compactNoted removes from t.noted the directories that were dropped or
// hold no note any more: each one left holds a note, so there are at most
// maxFileNotes.
func (t *Tree) compactNoted() {
	kept := t.noted[:0]
	for _, d := range t.noted {
		if d.dropped || len(d.notes) == 0 {
			d.notes = nil
			continue
		}
		kept = append(kept, d)
	}
	clear(t.noted[len(kept):])
	t.noted = kept
}
