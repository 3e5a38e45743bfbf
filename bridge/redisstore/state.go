package redisstore

import (
	"context"
	"strconv"

	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/state"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/redis/rueidis"
)

// StateStore is the state module's store in Redis: a state.Shared. A
// call's state is a hash (Prefix + "s:" + IVR_UNIQUE_ID) with a field per
// key ("v:KEY", its value; "s:KEY", what it counts for) and the call's
// total ("#"); it expires the state TTL after the call's last write. Every
// write is one server-side script, so state.incr is atomic across
// instances and one round trip, the byte bound checked in the same step.
type StateStore struct{ s *Store }

var _ state.Shared = (*StateStore)(nil)

func (t *StateStore) key(id string) string { return t.s.o.Prefix + "s:" + id }

// emptyState is what a call's state counts for before any key.
var emptyState = strconv.Itoa(luavm.SizeOf(map[string]any{}))

// Get implements state.Shared: one round trip.
func (t *StateStore) Get(op cache.Op, id, key string) (any, error) {
	s := t.s
	var raw []byte
	var size int64
	err := s.run(op, modState, func(ctx context.Context, cl rueidis.Client) error {
		s.trip(modState)
		vals, err := cl.Do(ctx, cl.B().Hmget().Key(t.key(id)).Field("v:"+key, "s:"+key).Build()).ToArray()
		if err != nil || len(vals) != 2 || vals[0].IsNil() {
			return err
		}
		raw, _ = vals[0].AsBytes()
		size, _ = vals[1].AsInt64()
		return nil
	})
	if err != nil || raw == nil {
		return nil, err
	}
	if op.Alloc != nil {
		if err := op.Alloc(int(size)); err != nil {
			return nil, err
		}
	}
	return decodeValue(raw)
}

// Set implements state.Shared: one round trip.
func (t *StateStore) Set(op cache.Op, id, key string, val any, entry int, lim state.Limits) error {
	s := t.s
	enc := []byte(nil)
	if val != nil {
		var err error
		if enc, err = encodeValue(nil, val); err != nil {
			return err
		}
	}
	var res []rueidis.RedisMessage
	err := s.run(op, modState, func(ctx context.Context, cl rueidis.Client) (err error) {
		s.trip(modState)
		res, err = setScript.Exec(ctx, cl, []string{t.key(id)}, []string{key, string(enc),
			strconv.Itoa(entry), strconv.Itoa(lim.MaxCallBytes), strconv.FormatInt(ms(lim.TTL), 10), emptyState}).ToArray()
		return err
	})
	if isOOM(err) {
		return state.ErrFull
	}
	if err != nil {
		return err
	}
	if ok, _ := res[0].AsInt64(); ok == 0 {
		size, _ := res[1].AsInt64()
		return &state.TooLargeError{Size: int(size)}
	}
	return nil
}

// Incr implements state.Shared: one round trip. The sum is worked out by
// the server in IEEE 754 doubles, as Lua would, and kept as text written
// with %.17g, which reads back as the same number.
func (t *StateStore) Incr(op cache.Op, id, key string, n float64, entry int, lim state.Limits) (float64, error) {
	s := t.s
	var res []rueidis.RedisMessage
	err := s.runOnce(op, modState, func(ctx context.Context, cl rueidis.Client) (err error) {
		s.trip(modState)
		res, err = incrScript.Exec(ctx, cl, []string{t.key(id)}, []string{key, strconv.FormatFloat(n, 'g', -1, 64),
			strconv.Itoa(entry), strconv.Itoa(lim.MaxCallBytes), strconv.FormatInt(ms(lim.TTL), 10), emptyState}).ToArray()
		return err
	})
	if isOOM(err) {
		return 0, state.ErrFull
	}
	if err != nil {
		return 0, err
	}
	verdict, _ := res[0].AsInt64()
	switch verdict {
	case 0:
		size, _ := res[1].AsInt64()
		return 0, &state.TooLargeError{Size: int(size)}
	case 2:
		raw, _ := res[1].AsBytes()
		v, err := decodeValue(raw)
		if err != nil {
			return 0, err
		}
		return 0, &state.NotNumberError{Value: v}
	}
	sum, _ := res[1].ToString()
	return parseNum(sum)
}

// setScript: KEYS the call's hash; ARGV key, value ("" removes it), what
// the key and value count for, the call's bound, TTL ms, an empty state's
// size. {1, total} when done, {0, total it would have been} when refused.
var setScript = rueidis.NewLuaScript(`
local total = tonumber(redis.call('HGET', KEYS[1], '#') or ARGV[6])
local old = tonumber(redis.call('HGET', KEYS[1], 's:' .. ARGV[1]) or '0')
if ARGV[2] == '' then
  if old > 0 then
    total = total - old
    redis.call('HDEL', KEYS[1], 'v:' .. ARGV[1], 's:' .. ARGV[1])
    redis.call('HSET', KEYS[1], '#', total)
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {1, total}
end
local size = total - old + tonumber(ARGV[3])
if size > tonumber(ARGV[4]) and size > total then
  return {0, size}
end
redis.call('HSET', KEYS[1], 'v:' .. ARGV[1], ARGV[2], 's:' .. ARGV[1], ARGV[3], '#', size)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, size}
`)

// incrScript: KEYS the call's hash; ARGV key, n, what a new key counts
// for, the call's bound, TTL ms, an empty state's size. {1, sum as text},
// {0, total it would have been} past the bound, {2, the value} when the
// key holds something else than a number.
var incrScript = rueidis.NewLuaScript(`
local v = redis.call('HGET', KEYS[1], 'v:' .. ARGV[1])
local cur = 0
if v then
  cur = string.sub(v, 1, 1) == 'n' and tonumber(string.sub(v, 2))
  if not cur then
    return {2, v}
  end
else
  local total = tonumber(redis.call('HGET', KEYS[1], '#') or ARGV[6])
  local size = total + tonumber(ARGV[3])
  if size > tonumber(ARGV[4]) then
    return {0, size}
  end
  redis.call('HSET', KEYS[1], 's:' .. ARGV[1], ARGV[3], '#', size)
end
local sum = string.format('%.17g', cur + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'v:' .. ARGV[1], 'n' .. sum)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, sum}
`)
