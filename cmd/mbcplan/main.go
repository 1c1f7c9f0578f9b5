// Command mbcplan is a SMART-on-FHIR app that proposes guideline-based
// treatment options for metastatic breast cancer.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "mbcplan: not yet wired")
	os.Exit(1)
}
