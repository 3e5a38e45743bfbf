//go:build !linux

package main

import (
	"os"
	"testing"
	"time"
)

// openTerminal skips: pseudo-terminals are opened on Linux only.
func openTerminal(t *testing.T) *os.File {
	t.Skip("pseudo-terminals are opened on Linux only")
	return nil
}

// readAvailable reads what was written to the pipe.
func readAvailable(t *testing.T, _, pipe *os.File) string {
	t.Helper()
	if err := pipe.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := pipe.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return string(got)
		}
	}
}
