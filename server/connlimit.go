package server

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// connLimit bounds the connections open at once. fasthttp's own bound
// (Server.Concurrency) answers its 503 in plain text; Voicenter, and anyone
// reading only the body, should read a failover there as everywhere else,
// so the listener answers in JSON before fasthttp sees the connection.
type connLimit struct {
	net.Listener
	max  int64
	open atomic.Int64
	tls  bool // nothing can be written before a TLS handshake: only close
}

// busyAnswer is the whole HTTP answer to a connection over the bound.
var busyAnswer = func() []byte {
	body := `{"STATUS":1,"error":"server busy: too many connections"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		go l.refuse(c) // never hold the accept loop on a slow client
	}
}

func (l *connLimit) refuse(c net.Conn) {
	defer c.Close()
	if l.tls {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(busyAnswer)
}

// limitedConn gives its place back once, however often it is closed.
type limitedConn struct {
	net.Conn
	l    *connLimit
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}
