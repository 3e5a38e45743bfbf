package main

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// ptys maps a terminal openTerminal opened to its master side.
var ptys = map[*os.File]*os.File{}

// openTerminal opens a pseudo-terminal and returns its terminal side, a
// real terminal as a user's shell has; it skips where there is none.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	// Non-blocking, so the poller takes it and reads honour deadlines.
	fd, err := syscall.Open("/dev/ptmx", syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Skip("no pseudo-terminals:", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skip("unlockpt:", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skip("ptsname:", e)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals:", err)
	}
	t.Cleanup(func() { tty.Close() })
	ptys[tty] = master
	return tty
}

// readAvailable reads what was written to out: from the terminal's master
// side, or from pipe when out is the pipe's writing end.
func readAvailable(t *testing.T, out, pipe *os.File) string {
	t.Helper()
	from := pipe
	if m, ok := ptys[out]; ok {
		from = m
	}
	if err := from.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := from.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return string(got)
		}
	}
}
