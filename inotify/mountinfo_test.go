package inotify

import (
	"errors"
	"maps"
	"os"
	"slices"
	"testing"
)

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want mountEntry
		err  bool
	}{
		{"proc(5) example", "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			mountEntry{"/mnt/parent", "ext3", "/dev/root"}, false},
		{"no optional fields", "66 54 8:32 / / rw,relatime - ext4 /dev/sdc rw,discard",
			mountEntry{"/", "ext4", "/dev/sdc"}, false},
		{"several optional fields", "310 35 0:58 / /home/j/net rw shared:190 master:2 propagate_from:1 unbindable - nfs4 fs:/export rw,vers=4.2",
			mountEntry{"/home/j/net", "nfs4", "fs:/export"}, false},
		{"trailing newline", "1 0 0:1 / / rw - ext4 /dev/vda rw\n", mountEntry{"/", "ext4", "/dev/vda"}, false},
		{"escaped space tab newline backslash", `1 0 0:1 / /a\040b\011c\012d\134e rw - ext4 x rw`,
			mountEntry{"/a b\tc\nd\\e", "ext4", "x"}, false},
		{"WSL source", `85 66 0:61 / /mnt/c rw,noatime - 9p C:\134 rw,aname=drvfs;path=C:\;uid=1000`,
			mountEntry{"/mnt/c", "9p", `C:\`}, false},
		{"empty source", "1 0 0:1 / /x rw - tmpfs  rw", mountEntry{"/x", "tmpfs", ""}, false},
		{"FUSE subtype", "316 31 0:64 / /r rw - fuse.sshfs j@b:/srv rw", mountEntry{"/r", "fuse.sshfs", "j@b:/srv"}, false},
		{"backslash without octal kept", `1 0 0:1 / /a\x rw - ext4 x rw`, mountEntry{`/a\x`, "ext4", "x"}, false},
		{"escape past a byte kept", `1 0 0:1 / /a\477 rw - ext4 x rw`, mountEntry{`/a\477`, "ext4", "x"}, false},
		{"short escape kept", `1 0 0:1 / /a\04 rw - ext4 x rw`, mountEntry{`/a\04`, "ext4", "x"}, false},
		{"no super options", "1 0 0:1 / / rw - ext4 /dev/vda", mountEntry{"/", "ext4", "/dev/vda"}, false},
		{"empty", "", mountEntry{}, true},
		{"no separator", "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 ext3 /dev/root rw", mountEntry{}, true},
		{"separator as options", "36 35 98:0 /mnt1 /mnt/parent - ext3 /dev/root rw", mountEntry{}, true},
		{"nothing after separator", "36 35 98:0 /mnt1 /mnt/parent rw -", mountEntry{}, true},
		{"no file system type", "36 35 98:0 /mnt1 /mnt/parent rw -  /dev/root rw", mountEntry{}, true},
		{"relative mount point", "36 35 98:0 /mnt1 mnt rw - ext3 /dev/root rw", mountEntry{}, true},
		{"mount ID not a number", "x 35 98:0 /mnt1 /mnt rw - ext3 /dev/root rw", mountEntry{}, true},
		{"double space in fixed fields", "36  35 98:0 /mnt1 /mnt rw - ext3 /dev/root rw", mountEntry{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfoLine([]byte(tt.line))
			if tt.err {
				if !errors.Is(err, errBadMountinfo) {
					t.Errorf("parseMountinfoLine(%q) = %+v, %v; want errBadMountinfo", tt.line, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseMountinfoLine(%q) (-want +got):\n-%+v\n+%+v, %v", tt.line, tt.want, got, err)
			}
		})
	}
}

func readSample(t *testing.T, name string) []mountEntry {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	mounts := parseMountinfo(data)
	if lines := countLines(data); len(mounts) != lines {
		t.Fatalf("%s: parsed %d of %d lines", name, len(mounts), lines)
	}
	return mounts
}

func countLines(data []byte) int {
	n := 0
	for _, c := range data {
		if c == '\n' {
			n++
		}
	}
	return n
}

// TestMountinfoSamples chooses the mount, and so the method, for roots in
// mount tables as WSL, Docker Desktop, an NFS client and a VirtualBox
// guest show them.
func TestMountinfoSamples(t *testing.T) {
	tests := []struct {
		sample string
		root   string
		fstype string
		point  string
		poll   bool
	}{
		{"mountinfo-wsl2.txt", "/mnt/c/Users/jane/src/app", "9p", "/mnt/c", true},
		{"mountinfo-wsl2.txt", "/mnt/c", "9p", "/mnt/c", true},
		{"mountinfo-wsl2.txt", "/mnt/d/work", "9p", "/mnt/d", true},
		{"mountinfo-wsl2.txt", "/mnt/cx", "ext4", "/", false},
		{"mountinfo-wsl2.txt", "/home/jane/src/app", "ext4", "/", false},
		{"mountinfo-wsl2.txt", "/mnt/wsl/docker-desktop-bind-mounts/Ubuntu/4f2a/x", "ext4", "/mnt/wsl/docker-desktop-bind-mounts/Ubuntu/4f2a", false},
		{"mountinfo-wsl1.txt", "/mnt/c/src", "drvfs", "/mnt/c", true},
		{"mountinfo-wsl1.txt", "/home/jane", "lxfs", "/", false},
		{"mountinfo-docker-desktop.txt", "/app", "fakeowner", "/app", true},
		{"mountinfo-docker-desktop.txt", "/app/src/views", "fakeowner", "/app", true},
		{"mountinfo-docker-desktop.txt", "/app/node_modules/react", "ext4", "/app/node_modules", false},
		{"mountinfo-docker-desktop.txt", "/srv/legacy", "fuse.grpcfuse", "/srv/legacy", true},
		{"mountinfo-docker-desktop.txt", "/mnt/shared/x", "virtiofs", "/mnt/shared", true},
		{"mountinfo-docker-desktop.txt", "/usr/src/app", "overlay", "/", false},
		{"mountinfo-docker-desktop.txt", "/var/lib/postgresql/data", "ext4", "/var/lib/postgresql/data", false},
		{"mountinfo-nfs.txt", "/home/jane/net/proj", "nfs4", "/home/jane/net", true}, // over autofs: the last mount wins
		{"mountinfo-nfs.txt", "/home/jane/net/proj/build", "tmpfs", "/home/jane/net/proj/build", false},
		{"mountinfo-nfs.txt", "/mnt/old/site", "nfs", "/mnt/old", true},
		{"mountinfo-nfs.txt", "/home/jane/Shared Work/site", "cifs", "/home/jane/Shared Work", true},
		{"mountinfo-nfs.txt", "/home/jane/remote/app", "fuse.sshfs", "/home/jane/remote", true},
		{"mountinfo-nfs.txt", "/home/jane/win/app", "fuseblk", "/home/jane/win", false},
		{"mountinfo-nfs.txt", "/home/jane/src", "ext4", "/home", false},
		{"mountinfo-virtualbox.txt", "/media/sf_project/app", "vboxsf", "/media/sf_project", true},
		{"mountinfo-virtualbox.txt", "/home/vagrant/project", "vboxsf", "/home/vagrant/project", true},
		{"mountinfo-virtualbox.txt", "/vagrant", "vboxsf", "/vagrant", true},
		{"mountinfo-virtualbox.txt", "/home/vagrant/other", "ext4", "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.sample+":"+tt.root, func(t *testing.T) {
			m, ok := mountFor(readSample(t, tt.sample), tt.root)
			if !ok || m.FSType != tt.fstype || m.Point != tt.point || PollsFSType(m.FSType) != tt.poll {
				t.Errorf("mount (-want +got):\n-%s at %s (poll %t)\n+%s at %s (poll %t, found %t)",
					tt.fstype, tt.point, tt.poll, m.FSType, m.Point, PollsFSType(m.FSType), ok)
			}
		})
	}
}

func TestPolledMountsBelow(t *testing.T) {
	tests := []struct {
		sample string
		root   string
		want   []string // relative paths of the polled mounts below root
	}{
		{"mountinfo-nfs.txt", "/home/jane", []string{"Shared Work", "net", "remote"}},
		{"mountinfo-nfs.txt", "/home", []string{"jane/Shared Work", "jane/net", "jane/remote"}},
		{"mountinfo-nfs.txt", "/home/jane/src", nil},
		{"mountinfo-docker-desktop.txt", "/", []string{"app", "mnt/shared", "srv/legacy"}},
		{"mountinfo-wsl2.txt", "/mnt", []string{"c", "d"}},
		{"mountinfo-virtualbox.txt", "/home/vagrant", []string{"project"}},
	}
	for _, tt := range tests {
		t.Run(tt.sample+":"+tt.root, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(polledMountsBelow(readSample(t, tt.sample), tt.root)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("polled mounts below %s (-want +got):\n-%q\n+%q", tt.root, tt.want, got)
			}
		})
	}
}

func TestPollsFSType(t *testing.T) {
	for fstype, want := range map[string]bool{
		"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "9p": true, "drvfs": true,
		"vboxsf": true, "virtiofs": true, "fakeowner": true, "fuse": true, "fuse.sshfs": true,
		"fuse.grpcfuse": true, "fuse.osxfs": true, "ceph": true,
		"ext4": false, "xfs": false, "btrfs": false, "tmpfs": false, "overlay": false, "zfs": false,
		"fuseblk": false, "fusectl": false, "lxfs": false, "": false,
	} {
		if got := PollsFSType(fstype); got != want {
			t.Errorf("PollsFSType(%q) = %t, want %t", fstype, got, want)
		}
	}
}
