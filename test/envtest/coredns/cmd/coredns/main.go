// Command coredns is CoreDNS from its Go module with only the plugins a test site's cluster DNS
// uses (the compile-time plugin selection CoreDNS documents): Kubernetes Service and Pod records,
// health and readiness endpoints, caching, error and query logging, Corefile reload, loop
// detection. Leaving out the cloud back-ends keeps the build to a fraction of the full binary.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
