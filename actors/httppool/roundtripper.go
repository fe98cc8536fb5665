package httppool

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// RoundTrip makes Client an http.RoundTripper (the failsafe-go decorator
// form), so code written against *http.Client gets the pool's slots,
// balancing, breaker, retry and body limit:
//
//	hc := &http.Client{Transport: poolClient}
//	hc.Get("http://api/v1/users") // host "api" = the pool's name: balanced
//
// A request whose host is the pool's name goes to the endpoint the balancer
// picks; any other absolute URL is sent as is. The request body is read
// whole first so that retries can resend it. The response body is the
// buffered one; a status classified as a failure comes back as a response
// (as net/http does), not as an error, once retries are exhausted.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("httppool: read request body: %w", err)
		}
	}
	target := req.URL.String()
	if req.URL.Host == c.cfg.Name {
		target = req.URL.RequestURI()
	}
	r := Request{Method: req.Method, URL: target, Header: req.Header, Body: body}
	resp, err := c.Do(req.Context(), r)
	if err != nil {
		se, ok := asStatusError(err)
		if !ok {
			return nil, err
		}
		resp = se.Response
	}
	return &http.Response{
		Status:        strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        resp.Header,
		Body:          io.NopCloser(bytes.NewReader(resp.Body)),
		ContentLength: int64(len(resp.Body)),
		Request:       req,
	}, nil
}

var _ http.RoundTripper = (*Client)(nil)
