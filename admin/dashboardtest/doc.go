// Package dashboardtest tests the admin dashboard (GET / of package admin)
// for real, in headless Chromium driven by github.com/chromedp/chromedp,
// against a running node: a pool and breaker in front of a
// vsmtest.MockService, health checkers in S4, the event stream.
//
// It holds only tests, kept apart so that the browser and its start-up
// cost stay out of package admin's tests. The test skips when no Chromium
// is installed (Debian: apt-get install -y chromium), and fails instead
// when CI=true. With VSM_SCREENSHOT=path it writes a PNG of the page, as
// docs/dashboard.png is made:
//
//	VSM_SCREENSHOT=$PWD/docs/dashboard.png go test -run Chromium ./admin/dashboardtest/
package dashboardtest
