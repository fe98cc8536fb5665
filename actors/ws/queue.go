package ws

// ring is the send queue's FIFO of pending sends. It grows by doubling as
// sends arrive and gives its buffer back once it empties, so an idle
// connection holds no queue memory at all (a channel of QueueSize slots
// cost 8 KiB per connection, idle or not). It is not safe for concurrent
// use: the Conn guards it with qmu.
type ring struct {
	buf  []*outMsg
	head int // index of the oldest
	n    int
}

// keepCap is the largest buffer an empty ring keeps: small enough not to
// matter per connection, large enough that steady light traffic does not
// allocate a buffer per send.
const keepCap = 8

func (r *ring) len() int { return r.n }

// push appends m. The caller enforces the limit; the buffer grows as
// needed.
func (r *ring) push(m *outMsg) {
	r.grow()
	r.buf[(r.head+r.n)%len(r.buf)] = m
	r.n++
}

// pushFront puts m before everything queued.
func (r *ring) pushFront(m *outMsg) {
	r.grow()
	r.head = (r.head - 1 + len(r.buf)) % len(r.buf)
	r.buf[r.head] = m
	r.n++
}

// pop removes and returns the oldest, or nil.
func (r *ring) pop() *outMsg {
	if r.n == 0 {
		return nil
	}
	m := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > keepCap {
			r.buf = nil
		}
	}
	return m
}

func (r *ring) grow() {
	if r.n < len(r.buf) {
		return
	}
	next := make([]*outMsg, max(4, 2*len(r.buf)))
	for i := range r.n {
		next[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf, r.head = next, 0
}
