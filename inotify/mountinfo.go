package inotify

import (
	"bytes"
	"errors"
	"strings"
)

// errBadMountinfo is returned by parseMountinfoLine for a line that does
// not have the shape proc(5) gives /proc/PID/mountinfo lines.
var errBadMountinfo = errors.New("inotify: malformed mountinfo line")

// mountEntry is one line of /proc/self/mountinfo reduced to what choosing
// a watch method needs.
type mountEntry struct {
	Point  string // the mount point, unescaped
	FSType string // "ext4", "nfs4", "fuse.sshfs", ...
	Source string // "/dev/sda1", "server:/export", "C:\\", "none", ...
}

// parseMountinfoLine parses one line of /proc/PID/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	(1)(2)(3)   (4)   (5)         (6)        (7)     (8) (9)  (10)      (11)
//
// mount ID, parent ID, major:minor, root, mount point, mount options,
// zero or more optional fields, a "-" separator, the file system type,
// the mount source and the super block options. Fields are separated by
// single spaces; the kernel escapes space, tab, newline and backslash in
// paths as \040, \011, \012 and \134 (seq_file's mangle), so a field never
// holds a space. The source may be empty (two spaces in a row).
func parseMountinfoLine(line []byte) (mountEntry, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var fields [][]byte
	for rest := line; ; {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			fields = append(fields, rest)
			break
		}
		fields = append(fields, rest[:i])
		rest = rest[i+1:]
	}
	// Six fixed fields, the separator, then type and source (the super
	// options were added in Linux 2.6.26 and are always there since).
	sep := -1
	for i := 6; i < len(fields); i++ {
		if len(fields[i]) == 1 && fields[i][0] == '-' {
			sep = i
			break
		}
	}
	if sep < 0 || len(fields) < sep+3 ||
		!isDecimal(fields[0]) || !isDecimal(fields[1]) ||
		len(fields[4]) == 0 || fields[4][0] != '/' || len(fields[sep+1]) == 0 {
		return mountEntry{}, errBadMountinfo
	}
	for _, f := range fields[:6] {
		if len(f) == 0 {
			return mountEntry{}, errBadMountinfo
		}
	}
	return mountEntry{
		Point:  unescapeMountinfo(fields[4]),
		FSType: unescapeMountinfo(fields[sep+1]),
		Source: unescapeMountinfo(fields[sep+2]),
	}, nil
}

func isDecimal(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unescapeMountinfo decodes the kernel's \ooo octal escapes. A backslash
// not followed by three octal digits is kept as it is.
func unescapeMountinfo(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && b[i+1] <= '3' && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]) {
			v := (int(b[i+1]-'0')<<6 | int(b[i+2]-'0')<<3 | int(b[i+3]-'0'))
			out = append(out, byte(v))
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// parseMountinfo parses a whole mountinfo file. Malformed lines are
// skipped: one odd line must not make every root fall back to a default.
func parseMountinfo(data []byte) []mountEntry {
	var mounts []mountEntry
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if m, err := parseMountinfoLine(line); err == nil {
			mounts = append(mounts, m)
		}
	}
	return mounts
}

// pollFSTypes are the file systems where inotify sees only what this
// kernel writes, not what the other side (the server, the host, the other
// VM) does: so they are polled.
var pollFSTypes = map[string]bool{
	"nfs": true, "nfs4": true, // NFS
	"cifs": true, "smb3": true, "smbfs": true, // SMB / Windows shares
	"9p":        true, // WSL2's /mnt/c (aname=drvfs), QEMU/Plan 9 shares
	"drvfs":     true, // WSL1's /mnt/c
	"vboxsf":    true, // VirtualBox shared folders
	"virtiofs":  true, // VM shares (Docker Desktop, Podman machine, Lima)
	"fakeowner": true, // Docker Desktop's bind mounts (over virtiofs or gRPC FUSE)
	"fuse":      true, // FUSE, see also "fuse." below
	"ceph":      true, // network file systems with the same blindness
	"afs":       true,
	"lustre":    true,
	"gpfs":      true,
}

// PollsFSType reports whether a mount of this file system type (as in
// /proc/self/mountinfo) is polled when Options.Method is Auto: network and
// VM shares where changes made on the other side produce no inotify event.
// They are nfs, nfs4, cifs, smb3, smbfs, 9p (WSL2), drvfs (WSL1), vboxsf,
// virtiofs, fakeowner (Docker Desktop), ceph, afs, lustre, gpfs, fuse and
// every fuse.SUBTYPE (sshfs, grpcfuse, osxfs, rclone, ...). fuseblk (local
// disks through FUSE, such as NTFS) is not: every change goes through this
// kernel there.
func PollsFSType(fstype string) bool {
	return pollFSTypes[fstype] || strings.HasPrefix(fstype, "fuse.")
}

// mountFor returns the mount that holds path (absolute, cleaned, symlinks
// resolved): the one with the longest mount point that is path or one of
// its parents; among equal ones the last, which mounts over the others.
func mountFor(mounts []mountEntry, path string) (mountEntry, bool) {
	best, found := -1, false
	for i, m := range mounts {
		if !pathWithin(path, m.Point) {
			continue
		}
		if !found || len(m.Point) >= len(mounts[best].Point) {
			best, found = i, true
		}
	}
	if !found {
		return mountEntry{}, false
	}
	return mounts[best], true
}

// polledMountsBelow returns the mounts strictly below root whose type is
// polled (PollsFSType), keyed by their path relative to root; a mount
// point mounted over again keeps only its last mount's type.
func polledMountsBelow(mounts []mountEntry, root string) map[string]mountEntry {
	prefix := root + "/"
	if root == "/" {
		prefix = "/"
	}
	var last map[string]mountEntry
	for _, m := range mounts {
		if rel, ok := strings.CutPrefix(m.Point, prefix); ok && rel != "" {
			if last == nil {
				last = make(map[string]mountEntry)
			}
			last[rel] = m
		}
	}
	for rel, m := range last {
		if !PollsFSType(m.FSType) {
			delete(last, rel)
		}
	}
	if len(last) == 0 {
		return nil
	}
	return last
}

// pathWithin reports whether path is dir or lies below it (both absolute
// and cleaned).
func pathWithin(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || (strings.HasPrefix(path, dir) && path[len(dir)] == '/')
}
