package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestMaxConnsAnswersJSON: a connection over --max-conns reads a failover
// body, in JSON like every other answer, and is closed; the place comes
// back when a connection closes.
func TestMaxConnsAnswersJSON(t *testing.T) {
	dir := scriptsDir(t, map[string]string{"layers/7.lua": `return function() return ivr.go_to_layer(70) end`})
	url, _ := start(t, Config{Scripts: dir, MaxConns: 1})
	addr := strings.TrimPrefix(url, "http://")
	ask := func(c net.Conn) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+itoa(len(request("7", "1")))+"\r\n\r\n"+string(request("7", "1"))); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if res := ask(first); res.StatusCode != 200 { // accepted and held open (keep-alive)
		t.Fatalf("first connection: %d", res.StatusCode)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	res, err := http.ReadResponse(bufio.NewReader(second), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 503 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		string(body) != `{"STATUS":1,"error":"server busy: too many connections"}` {
		t.Errorf("over the bound: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	first.Close()
	// The place comes back: a new connection is served (retry until the
	// server has seen the close, which is not synchronous with ours).
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		res := ask(c)
		c.Close()
		if res.StatusCode == 200 {
			break
		}
		if i == 1000 {
			t.Fatal("the closed connection's place never came back")
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
