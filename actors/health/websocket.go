package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocketProbe opens a WebSocket to URL (ws:// or wss://), sends a ping,
// waits for the pong, and closes the connection cleanly. Data messages the
// server sends meanwhile are skipped.
type WebSocketProbe struct {
	URL    string
	Header http.Header
	// Dialer dials; nil means a copy of websocket.DefaultDialer.
	Dialer *websocket.Dialer
}

var _ Prober = (*WebSocketProbe)(nil)

// errPong ends the read loop when the pong arrives.
var errPong = errors.New("pong")

// pingPayload is sent in the ping and expected back in the pong.
const pingPayload = "vsm-health"

// Probe dials, pings and waits for the pong.
func (p *WebSocketProbe) Probe(ctx context.Context) error {
	d := p.Dialer
	if d == nil {
		dd := *websocket.DefaultDialer
		d = &dd
	}
	conn, resp, err := d.DialContext(ctx, p.URL, p.Header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	// gorilla reads with deadlines, not contexts: cancellation sets one.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	dl, _ := ctx.Deadline()
	_ = conn.SetReadDeadline(dl)
	conn.SetPongHandler(func(data string) error {
		if data != pingPayload {
			return nil // an unsolicited pong: keep waiting
		}
		return errPong
	})
	if err := conn.WriteControl(websocket.PingMessage, []byte(pingPayload), dl); err != nil {
		return fmt.Errorf("websocket ping: %w", err)
	}
	for {
		_, _, err := conn.NextReader()
		if errors.Is(err, errPong) {
			break
		}
		if err != nil {
			var ne net.Error
			switch {
			case ctx.Err() != nil:
				err = ctx.Err()
			case errors.As(err, &ne) && ne.Timeout():
				// The read deadline (ctx's) may pass a moment before ctx
				// itself reports it: it is the same timeout.
				err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
			}
			return fmt.Errorf("%w: no pong: %w", ErrNotServing, err)
		}
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	return nil
}
