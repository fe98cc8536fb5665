package pool_test

import (
	"context"
	"fmt"

	"github.com/viable-systems/vsm-connections/pool"
)

func Example() {
	made := 0
	p, err := pool.New[string](pool.Config{Size: 2}, pool.Funcs[string]{
		NewFunc: func(ctx context.Context) (string, error) {
			made++
			return fmt.Sprintf("conn-%d", made), nil
		},
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	l, err := p.Get(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("using", l.Value())
	l.Release() // back to the idle stack

	l, _ = p.Get(context.Background())
	fmt.Println("reused", l.Value())
	l.Discard() // broken: closed, replaced on the next Get

	l, _ = p.Get(context.Background())
	fmt.Println("replaced by", l.Value())
	l.Release()

	s := p.Stats()
	fmt.Printf("size=%d in_use=%d idle=%d checkouts=%d discarded=%d\n",
		s.Size, s.InUse, s.Idle, s.Checkouts, s.Discarded)
	// Output:
	// using conn-1
	// reused conn-1
	// replaced by conn-2
	// size=2 in_use=0 idle=1 checkouts=3 discarded=1
}
