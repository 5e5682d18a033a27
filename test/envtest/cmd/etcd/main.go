// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 at the
// version Kubernetes itself is tested with (etcd's own main is just this call).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
