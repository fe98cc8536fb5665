package pool

import (
	"context"
	"testing"
	"time"
)

// chanPool is the peer: the classic buffered-channel pool, pre-filled,
// with a timer only when it has to wait.
type chanPool struct{ ch chan *int }

func newChanPool(size int) *chanPool {
	c := &chanPool{ch: make(chan *int, size)}
	for i := range size {
		c.ch <- &i
	}
	return c
}

func (c *chanPool) get(ctx context.Context) (*int, error) {
	select {
	case r := <-c.ch:
		return r, nil
	default:
	}
	t := time.NewTimer(DefaultTimeout)
	defer t.Stop()
	select {
	case r := <-c.ch:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, ErrTimeout
	}
}

func (c *chanPool) put(r *int) { c.ch <- r }

// BenchmarkPoolCheckout measures one checkout and checkin of an idle
// resource (the pool is larger than the number of callers, so nobody
// waits).
func BenchmarkPoolCheckout(b *testing.B) {
	const size = 64
	ctx := context.Background()
	b.Run("vsm", func(b *testing.B) {
		p, err := New[*int](Config{Size: size}, Funcs[*int]{NewFunc: func(context.Context) (*int, error) { return new(int), nil }})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l, err := p.Get(ctx)
				if err != nil {
					b.Fatal(err)
				}
				l.Release()
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l, err := p.Get(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					l.Release()
				}
			})
		})
	})
	b.Run("channel", func(b *testing.B) {
		c := newChanPool(size)
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := c.get(ctx)
				if err != nil {
					b.Fatal(err)
				}
				c.put(r)
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := c.get(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					c.put(r)
				}
			})
		})
	})
}
