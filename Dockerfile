# syntax=docker/dockerfile:1
# Build: the same static `go build` that CI tests.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ipcwatch ./cmd/ipcwatch

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ipcwatch /usr/bin/ipcwatch
ENTRYPOINT ["/usr/bin/ipcwatch"]
CMD ["agent"]
