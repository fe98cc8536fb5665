package vsmtest_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/viable-systems/vsm-connections/vsmtest"
)

func ExampleStartMockService() {
	svc, err := vsmtest.StartMockService()
	if err != nil {
		panic(err)
	}
	defer svc.Close()

	svc.RespondTo("GET /health", http.StatusOK, "up", nil)
	svc.FailNext(2, http.StatusServiceUnavailable)

	for range 3 {
		resp, err := svc.Client().Get(svc.URL() + "/health")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}

	svc.ResetNext(1)
	_, err = svc.Client().Get(svc.URL() + "/health")
	fmt.Println("reset gives an error:", err != nil)
	fmt.Println("requests seen:", svc.Requests())
	// Output:
	// 503 vsmtest: injected failure
	// 503 vsmtest: injected failure
	// 200 up
	// reset gives an error: true
	// requests seen: 4
}
