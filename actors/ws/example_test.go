package ws_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/supervisor"
)

func Example() {
	// An echo server on 127.0.0.1.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.WriteMessage(typ, append([]byte("echo "), data...))
		}
	}))
	defer srv.Close()

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	got := make(chan string, 8)
	pool, err := ws.NewPool(ws.PoolConfig{
		Name: "quotes",
		Size: 2,
		Conn: ws.Config{
			Endpoints:     []string{"ws" + strings.TrimPrefix(srv.URL, "http") + "/stream"},
			Subscriptions: []ws.Message{ws.TextMessage(`{"subscribe":"EURUSD"}`)},
			Handler: ws.HandlerFuncs{
				OnMessage: func(c *ws.Conn, m ws.Message) { got <- string(m.Data) },
			},
		},
	}, ws.Env{Events: sys.EventStream})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The pool's own supervisor restarts a connection whose handler panics;
	// a node puts pool.ChildSpecs() under S1 instead.
	if err := pool.Start(sys.Root, supervisor.Env{Events: sys.EventStream}); err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Both connections replay the subscription on connect.
	fmt.Println(<-got)
	fmt.Println(<-got)
	// A key keeps related sends on one connection, in order.
	_ = pool.Send(ctx, "order-42", ws.TextMessage("one"))
	_ = pool.Send(ctx, "order-42", ws.TextMessage("two"))
	fmt.Println(<-got)
	fmt.Println(<-got)
	_ = pool.Pick("").SendJSON(ctx, map[string]int{"qty": 3})
	fmt.Println(<-got)

	fmt.Println(pool.Close(ctx), pool.Stats().Total.Sent)
	// Output:
	// echo {"subscribe":"EURUSD"}
	// echo {"subscribe":"EURUSD"}
	// echo one
	// echo two
	// echo {"qty":3}
	// <nil> 5
}
