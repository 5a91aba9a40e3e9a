package function

import (
	"fmt"
	"io"
	"net/http"
)

// Handle answers one request.
func Handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "Hello from go, you said: %q\n", body)
}
