package server

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkHandlerConsoleOff is BenchmarkHandlerCallLog without the
// console's recording, so the two side by side give what the console costs
// a call.
func BenchmarkHandlerConsoleOff(b *testing.B) {
	benchHandlerConfig(b, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CallLog: io.Discard, ConsoleCalls: -1}, "/", request("5", "12345678"))
}
