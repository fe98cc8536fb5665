package grpcpool

import (
	"context"
	"math"
	"net"
	"sync"

	"google.golang.org/grpc/credentials"
)

// unlimited stands for a transport whose server advertised no stream limit;
// a sum of them stays far from overflowing.
const unlimited = int64(1) << 40

// grpc-go keeps the peer's SETTINGS_MAX_CONCURRENT_STREAMS private (it
// only throttles new streams on it), so the channel learns the limit where
// grpc-go does: from the server's SETTINGS frames. Every transport grpc-go
// opens goes through watchingCreds.ClientHandshake, whose returned conn
// (after TLS, when there is TLS) is wrapped by one that passes the bytes
// it reads through frameWatcher, a tiny HTTP/2 frame-header scanner. It
// reads nine header bytes per frame, skips payloads and decodes only
// SETTINGS frames, so it costs a few comparisons per Read. The rules are
// grpc-go's own (http2_client.go handleSettings): the value of the last
// SETTINGS frame that carries the parameter wins, and a first SETTINGS
// frame without it means no limit.

// watchingCreds wraps the channel's transport credentials (insecure or TLS)
// so that every transport of one ClientConn reports its limit to that conn.
type watchingCreds struct {
	credentials.TransportCredentials
	c   *conn
	cap uint32 // Config.MaxConcurrentStreams
}

func (w *watchingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	nc, ai, err := w.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return nil, nil, err
	}
	t := &transportLimit{c: w.c, cap: w.cap}
	w.c.transportUp(t)
	wc := &watchedConn{Conn: nc, t: t}
	wc.w.onLimit = t.set
	return wc, ai, nil
}

func (w *watchingCreds) Clone() credentials.TransportCredentials {
	return &watchingCreds{TransportCredentials: w.TransportCredentials.Clone(), c: w.c, cap: w.cap}
}

// transportLimit is one transport's share of its conn's capacity.
type transportLimit struct {
	c   *conn
	cap uint32

	mu      sync.Mutex // Read (grpc-go's reader) and Close may race
	cur     int64      // what this transport adds to c.capacity
	settled bool       // a SETTINGS frame has been seen
	gone    bool
}

// set records an advertised limit (math.MaxUint32: none).
func (t *transportLimit) set(adv uint32) {
	eff := int64(adv)
	if adv == math.MaxUint32 {
		eff = unlimited
	}
	if t.cap > 0 && int64(t.cap) < eff {
		eff = int64(t.cap)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone {
		return
	}
	t.c.capacity.Add(eff - t.cur)
	t.cur = eff
	if !t.settled {
		t.settled = true
		t.c.pending.Add(-1)
	}
}

func (t *transportLimit) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone {
		return
	}
	t.gone = true
	t.c.capacity.Add(-t.cur)
	if !t.settled {
		t.c.pending.Add(-1)
	}
	t.c.transports.Add(-1)
}

type watchedConn struct {
	net.Conn
	t *transportLimit
	w frameWatcher
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.w.feed(p[:n])
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.t.close()
	return c.Conn.Close()
}

const (
	frameHeaderLen      = 9
	frameSettings       = 0x4
	flagAck             = 0x1
	settingMaxStreams   = 0x3
	settingParameterLen = 6
)

// frameWatcher scans the frames a client reads and calls onLimit with the
// server's SETTINGS_MAX_CONCURRENT_STREAMS (math.MaxUint32 when the first
// SETTINGS frame does not carry it). The server's stream begins with its
// SETTINGS frame: there is no preface to skip on the client side. It is
// used by one goroutine, grpc-go's reader.
type frameWatcher struct {
	onLimit func(uint32)

	hdr  [frameHeaderLen]byte
	hn   int  // header bytes buffered
	left int  // payload bytes of the current frame still to come
	in   bool // inside a frame's payload
	// settings: the current frame is a SETTINGS frame (not an ACK) whose
	// parameters are decoded.
	settings  bool
	param     [settingParameterLen]byte
	pn        int
	found     bool // the current SETTINGS frame carried the limit
	seenFirst bool
}

func (w *frameWatcher) feed(p []byte) {
	for len(p) > 0 {
		if !w.in {
			n := copy(w.hdr[w.hn:], p)
			w.hn += n
			p = p[n:]
			if w.hn < frameHeaderLen {
				return
			}
			w.hn = 0
			w.left = int(w.hdr[0])<<16 | int(w.hdr[1])<<8 | int(w.hdr[2])
			w.settings = w.hdr[3] == frameSettings && w.hdr[4]&flagAck == 0
			w.found, w.pn = false, 0
			w.in = w.left > 0
			if !w.in && w.settings {
				w.endSettings()
			}
			continue
		}
		n := min(w.left, len(p))
		if w.settings {
			w.params(p[:n])
		}
		w.left -= n
		p = p[n:]
		if w.left == 0 {
			w.in = false
			if w.settings {
				w.endSettings()
			}
		}
	}
}

func (w *frameWatcher) params(p []byte) {
	for len(p) > 0 {
		n := copy(w.param[w.pn:], p)
		w.pn += n
		p = p[n:]
		if w.pn < settingParameterLen {
			return
		}
		w.pn = 0
		id := uint16(w.param[0])<<8 | uint16(w.param[1])
		if id == settingMaxStreams {
			v := uint32(w.param[2])<<24 | uint32(w.param[3])<<16 | uint32(w.param[4])<<8 | uint32(w.param[5])
			w.found = true
			w.onLimit(v)
		}
	}
}

func (w *frameWatcher) endSettings() {
	if !w.found && !w.seenFirst {
		w.onLimit(math.MaxUint32)
	}
	w.seenFirst = true
	w.settings = false
}
