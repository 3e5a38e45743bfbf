package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter batches log lines into few writes. A line per call at tens of
// thousands of calls a second would otherwise cost a write(2) each, more
// than answering the call. Lines wait at most flushEvery; Close writes the
// rest, and lines written after Close go straight through.
type logWriter struct {
	mu     sync.Mutex
	w      io.Writer
	buf    *bufio.Writer
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

const flushEvery = 100 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flusher()
	return l
}

// Write takes one log record; slog handlers write each record whole, so
// records never interleave.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	n, err := l.buf.Write(p)
	if err != nil {
		// bufio keeps a write error forever: start afresh, so one failed
		// write (a full disk) does not silence the log until a restart.
		l.buf.Reset(l.w)
	}
	return n, err
}

func (l *logWriter) flusher() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			l.flush()
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// flush writes what is buffered; l.mu is held.
func (l *logWriter) flush() {
	if l.buf.Buffered() > 0 && l.buf.Flush() != nil {
		l.buf.Reset(l.w)
	}
}

// Close writes what is buffered and stops the flusher.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flush()
	l.closed = true
	return nil
}
