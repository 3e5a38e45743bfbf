package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// access decides who may call, before a request is parsed: Voicenter signs
// nothing, so a shared token in the layer's URL and the addresses calls come
// from are what can be checked.
type access struct {
	token  [sha256.Size]byte // of the token; compared as digests so neither length nor content leaks through timing
	hasTok bool
	allow  []netip.Prefix
	trust  []netip.Prefix
}

func newAccess(token string, allow, trust []netip.Prefix) *access {
	a := &access{allow: allow, trust: trust}
	if token != "" {
		a.token, a.hasTok = sha256.Sum256([]byte(token)), true
	}
	return a
}

// check returns 0 for a request that may go on, else the status to answer
// and why.
func (a *access) check(ctx *fasthttp.RequestCtx) (int, string) {
	if len(a.allow) > 0 {
		ip := a.client(ctx)
		if !contains(a.allow, ip) {
			return fasthttp.StatusForbidden, "address " + ip.String() + " not allowed"
		}
	}
	if a.hasTok && !a.tokenOK(ctx) {
		return fasthttp.StatusUnauthorized, "missing or wrong token"
	}
	return 0, ""
}

var bearer = []byte("Bearer ")

func (a *access) tokenOK(ctx *fasthttp.RequestCtx) bool {
	got := ctx.QueryArgs().Peek("token")
	if got == nil {
		auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
		if len(auth) < len(bearer) || !bytes.EqualFold(auth[:len(bearer)], bearer) {
			return false
		}
		got = bytes.TrimSpace(auth[len(bearer):])
	}
	sum := sha256.Sum256(got)
	return subtle.ConstantTimeCompare(sum[:], a.token[:]) == 1
}

// client is the caller's address: the peer, or, when the peer is a trusted
// proxy, the nearest X-Forwarded-For hop that is not one. Hops a trusted
// proxy did not add cannot be believed, so the walk stops at the first
// untrusted one.
func (a *access) client(ctx *fasthttp.RequestCtx) netip.Addr {
	ip := peer(ctx)
	if !contains(a.trust, ip) {
		return ip
	}
	// A proxy may append to the header or add a line of its own: the hops
	// are every line's, in order, and the last ones are the nearest.
	lines := ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor)
	for l := len(lines) - 1; l >= 0; l-- {
		xff := lines[l]
		for len(xff) > 0 {
			i := bytes.LastIndexByte(xff, ',')
			hop := bytes.TrimSpace(xff[i+1:])
			xff = xff[:max(i, 0)]
			addr, err := netip.ParseAddr(string(hop))
			if err != nil {
				return netip.Addr{} // a garbled hop: nobody can say who called
			}
			ip = addr.Unmap()
			if !contains(a.trust, ip) {
				return ip
			}
		}
	}
	return ip
}

func peer(ctx *fasthttp.RequestCtx) netip.Addr {
	if tcp, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

func contains(prefixes []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParsePrefix reads a CIDR ("10.0.0.0/8") or a single address ("10.1.2.3",
// taken as /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}
