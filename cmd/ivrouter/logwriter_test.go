package main

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

// flaky is a writer that fails while broken is set.
type flaky struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	broken bool
	writes int
}

func (f *flaky) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.broken {
		return 0, errors.New("disk full")
	}
	return f.buf.Write(p)
}

func (f *flaky) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

func TestLogWriterBatchesAndFlushesOnClose(t *testing.T) {
	out := &flaky{}
	l := newLogWriter(out)
	for i := 0; i < 100; i++ {
		l.Write([]byte("line\n"))
	}
	l.mu.Lock()
	l.flush()
	l.mu.Unlock()
	// One write, or two if the flusher's tick fell among the lines.
	if got := strings.Count(out.String(), "line\n"); got != 100 || out.writes > 2 {
		t.Errorf("100 lines took %d writes and %d arrived, want them batched", out.writes, got)
	}
	l.Write([]byte("last\n"))
	l.Close()
	if !strings.HasSuffix(out.String(), "last\n") {
		t.Error("Close did not write the buffered line")
	}
	l.Write([]byte("after close\n"))
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Error("a line written after Close was lost")
	}
}

func TestLogWriterRecoversFromAFailedWrite(t *testing.T) {
	out := &flaky{broken: true}
	l := newLogWriter(out)
	defer l.Close()
	l.Write([]byte("lost\n"))
	l.mu.Lock()
	l.flush() // fails
	l.mu.Unlock()
	out.mu.Lock()
	out.broken = false
	out.mu.Unlock()
	if _, err := l.Write([]byte("back\n")); err != nil {
		t.Fatalf("the writer stayed broken: %v", err)
	}
	l.mu.Lock()
	l.flush()
	l.mu.Unlock()
	if got := out.String(); got != "back\n" {
		t.Errorf("after the disk recovered the log holds %q, want the new line", got)
	}
}
