#include "test/support/http_server.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "test/support/ascii_util.h"

namespace secretsync::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(urlDecode(part, true), "");
    } else {
      out.emplace_back(urlDecode(part.substr(0, eq), true), urlDecode(part.substr(eq + 1), true));
    }
  }
  return out;
}

bool isNoBodyStatus(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

std::string urlDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool StreamWriter::write(std::string_view chunk) {
  if (failed_) {
    return false;
  }
  if (chunk.empty()) {
    return !closed();
  }
  if (!write_(chunk)) {
    failed_ = true;
  }
  return !failed_;
}

bool StreamWriter::closed() {
  if (!failed_ && closed_()) {
    failed_ = true;
  }
  return failed_;
}

std::optional<std::string> HttpServerRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> HttpServerRequest::queryParam(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) {
      return v;
    }
  }
  return std::nullopt;
}

struct HttpServer::Impl {
  struct Connection {
    int fd = -1;  // -1 once the connection thread has let go of its socket
    std::thread thread;
  };

  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<asio::ssl::context> tls;
  uint16_t port = 0;
  std::thread accept_thread;

  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> requests{0};

  // Guards connections and finished; a connection thread clears its fd under it before closing
  // the socket, so stop() never shuts down a reused descriptor.
  mutable std::mutex mu;
  std::map<uint64_t, Connection> connections;
  std::vector<uint64_t> finished;
  uint64_t next_id = 0;

  // Wakes handler delays when the server stops.
  std::mutex stop_mu;
  std::condition_variable stop_cv;

  void acceptLoop();
  void reapFinished();
  void serveConnection(uint64_t id, tcp::socket socket);
  template <class Stream>
  void serveRequests(Stream& stream, tcp::socket& raw, const std::string& remote);
  // Writes a chunked reply whose body comes from `body`. @return whether the connection is
  // still usable afterwards.
  template <class Stream>
  bool streamResponse(Stream& stream, tcp::socket& raw, const http::response_header<>& header,
                      const std::function<void(StreamWriter&)>& body);
  void release(uint64_t id);
  void stop();
};

template <class Stream>
bool HttpServer::Impl::streamResponse(Stream& stream, tcp::socket& raw,
                                      const http::response_header<>& header,
                                      const std::function<void(StreamWriter&)>& body) {
  http::response<http::empty_body> res;
  res.base() = header;
  res.chunked(true);
  boost::system::error_code ec;
  http::response_serializer<http::empty_body> sr{res};
  http::write_header(stream, sr, ec);
  if (ec) {
    return false;
  }
  bool broken = false;
  const int fd = raw.native_handle();
  StreamWriter writer(
      [&](std::string_view chunk) {
        if (broken || stopping.load()) {
          return false;
        }
        boost::system::error_code wec;
        asio::write(stream, http::make_chunk(asio::const_buffer(chunk.data(), chunk.size())), wec);
        broken = broken || static_cast<bool>(wec);
        return !broken;
      },
      [&]() {
        if (broken || stopping.load()) {
          return true;
        }
        // The peer hanging up shows as RDHUP/HUP; pending request bytes (POLLIN) do not count.
        pollfd pfd{fd, POLLRDHUP, 0};
        if (::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
          broken = true;
        }
        return broken;
      });
  try {
    body(writer);
  } catch (...) {
    // A half-written chunked body cannot be repaired: drop the connection.
    return false;
  }
  if (broken || stopping.load()) {
    return false;
  }
  asio::write(stream, http::make_chunk_last(), ec);
  return !ec;
}

void HttpServer::Impl::acceptLoop() {
  const int listen_fd = acceptor.native_handle();
  while (!stopping.load()) {
    pollfd pfd{listen_fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, 100);
    if (stopping.load()) {
      break;
    }
    reapFinished();
    if (rc <= 0) {
      continue;
    }
    boost::system::error_code ec;
    tcp::socket socket(ioc);
    acceptor.accept(socket, ec);
    if (ec) {
      continue;
    }
    accepted.fetch_add(1);
    socket.set_option(tcp::no_delay(true), ec);
    std::lock_guard lock(mu);
    uint64_t id = next_id++;
    Connection& conn = connections[id];
    conn.fd = socket.native_handle();
    try {
      conn.thread = std::thread(
          [this, id, s = std::move(socket)]() mutable { serveConnection(id, std::move(s)); });
    } catch (const std::exception&) {
      // Out of threads: refuse this one connection rather than the whole server.
      connections.erase(id);
    }
  }
}

void HttpServer::Impl::reapFinished() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu);
    for (uint64_t id : finished) {
      auto it = connections.find(id);
      if (it != connections.end()) {
        done.push_back(std::move(it->second.thread));
        connections.erase(it);
      }
    }
    finished.clear();
  }
  for (auto& t : done) {
    if (t.joinable()) {
      t.join();
    }
  }
}

void HttpServer::Impl::release(uint64_t id) {
  std::lock_guard lock(mu);
  auto it = connections.find(id);
  if (it != connections.end()) {
    it->second.fd = -1;
  }
  finished.push_back(id);
}

void HttpServer::Impl::serveConnection(uint64_t id, tcp::socket socket) {
  try {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    std::string remote = ec ? "" : absl::StrCat(ep.address().to_string(), ":", ep.port());
    if (tls.has_value()) {
      asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (!ec) {
        serveRequests(stream, stream.next_layer(), remote);
      }
      // No close_notify: it could block on a peer that never answers, and clients do not need
      // it because every response is length-delimited.
      std::lock_guard lock(mu);
      auto it = connections.find(id);
      if (it != connections.end()) {
        it->second.fd = -1;
      }
      stream.next_layer().close(ec);
    } else {
      serveRequests(socket, socket, remote);
      std::lock_guard lock(mu);
      auto it = connections.find(id);
      if (it != connections.end()) {
        it->second.fd = -1;
      }
      socket.close(ec);
    }
  } catch (...) {
    // Never let a connection take the process down; the socket closes as it unwinds.
  }
  release(id);
}

template <class Stream>
void HttpServer::Impl::serveRequests(Stream& stream, tcp::socket& raw, const std::string& remote) {
  beast::flat_buffer buffer;
  while (!stopping.load()) {
    boost::system::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(1 << 20);
    http::read(stream, buffer, parser, ec);
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        // A parse error: answer like Go's net/http does and close.
        int status = 400;
        if (ec == http::error::body_limit) {
          status = 413;
        } else if (ec == http::error::header_limit) {
          status = 431;
        }
        http::response<http::string_body> res;
        res.version(11);
        res.result(static_cast<unsigned>(status));
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.set(http::field::connection, "close");
        auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
        res.body() = absl::StrCat(status, " ", std::string(reason.data(), reason.size()));
        res.content_length(res.body().size());
        boost::system::error_code wec;
        http::write(stream, res, wec);
      }
      return;
    }
    const auto& req = parser.get();
    HttpServerRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    std::string_view target(request.target);
    size_t qpos = target.find('?');
    request.path = urlDecode(target.substr(0, qpos), false);
    if (qpos != std::string_view::npos) {
      request.query = parseQuery(target.substr(qpos + 1));
    }
    for (const auto& field : req) {
      request.headers.emplace_back(
          toLowerAscii(std::string_view(field.name_string().data(), field.name_string().size())),
          std::string(field.value()));
    }
    request.body = req.body();
    request.remote = remote;
    const bool keep_alive_requested = req.keep_alive();
    const bool is_head = req.method() == http::verb::head;

    requests.fetch_add(1);
    HttpServerResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      response = HttpServerResponse{};
      response.status = 500;
      response.headers = {{"Content-Type", "text/plain"}};
      response.body = absl::StrCat("handler threw: ", e.what());
    } catch (...) {
      response = HttpServerResponse{};
      response.status = 500;
    }

    if (response.delay.count() > 0) {
      std::unique_lock lock(stop_mu);
      stop_cv.wait_for(lock, response.delay, [this] { return stopping.load(); });
    }
    if (stopping.load()) {
      return;
    }
    if (response.drop_connection) {
      // Linger 0 makes close() send a RST: the client sees a reset, not a clean EOF.
      boost::system::error_code lec;
      raw.set_option(asio::socket_base::linger(true, 0), lec);
      return;
    }

    int status = response.status;
    if (status < 100 || status > 999) {
      status = 500;
    }
    http::response<http::string_body> res;
    res.version(11);
    res.result(static_cast<unsigned>(status));
    if (http::int_to_status(static_cast<unsigned>(status)) == http::status::unknown) {
      res.reason("Unknown");
    }
    bool keep_alive = keep_alive_requested;
    for (const auto& [name, value] : response.headers) {
      if (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding")) {
        continue;  // framing is ours to decide
      }
      if (equalsIgnoreCase(name, "connection")) {
        if (equalsIgnoreCase(value, "close")) {
          keep_alive = false;
        }
        continue;
      }
      res.insert(name, value);
    }
    res.keep_alive(keep_alive);
    if (response.stream && !is_head && !isNoBodyStatus(status)) {
      if (!streamResponse(stream, raw, res.base(), response.stream)) {
        return;
      }
      if (!keep_alive) {
        return;
      }
      continue;
    }
    if (isNoBodyStatus(status)) {
      res.body().clear();
    } else {
      res.body() = std::move(response.body);
      res.content_length(res.body().size());
    }
    boost::system::error_code wec;
    if (is_head) {
      http::response_serializer<http::string_body> sr{res};
      http::write_header(stream, sr, wec);
    } else {
      http::write(stream, res, wec);
    }
    if (wec || !keep_alive) {
      return;
    }
  }
}

void HttpServer::Impl::stop() {
  if (stopping.exchange(true)) {
    if (accept_thread.joinable()) {
      accept_thread.join();
    }
    return;
  }
  { std::lock_guard lock(stop_mu); }
  stop_cv.notify_all();
  // Wakes the acceptor's poll() at once instead of at its next timeout.
  ::shutdown(acceptor.native_handle(), SHUT_RDWR);
  if (accept_thread.joinable()) {
    accept_thread.join();
  }
  boost::system::error_code ec;
  acceptor.close(ec);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu);
    for (auto& [id, conn] : connections) {
      if (conn.fd >= 0) {
        ::shutdown(conn.fd, SHUT_RDWR);
      }
      threads.push_back(std::move(conn.thread));
    }
  }
  for (auto& t : threads) {
    if (t.joinable()) {
      t.join();
    }
  }
  std::lock_guard lock(mu);
  connections.clear();
  finished.clear();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options,
                                                              HttpHandler handler) {
  if (!handler) {
    return absl::InvalidArgumentError("HttpServer: no handler");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  boost::system::error_code ec;

  if (impl->options.tls.has_value()) {
    const TlsServerConfig& cfg = *impl->options.tls;
    impl->tls.emplace(asio::ssl::context::tls_server);
    auto& ctx = *impl->tls;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1,
                    ec);
    ctx.use_certificate_chain(asio::buffer(cfg.cert_pem), ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("HttpServer: bad cert_pem: ", ec.message()));
    }
    ctx.use_private_key(asio::buffer(cfg.key_pem), asio::ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("HttpServer: bad key_pem: ", ec.message()));
    }
    if (!cfg.client_ca_pem.empty()) {
      ctx.add_certificate_authority(asio::buffer(cfg.client_ca_pem), ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("HttpServer: bad client_ca_pem: ", ec.message()));
      }
      ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
    } else {
      ctx.set_verify_mode(asio::ssl::verify_none, ec);
    }
  }

  auto address = asio::ip::make_address(impl->options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("HttpServer: bad host '", impl->options.host, "': ", ec.message()));
  }
  tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    impl->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    impl->acceptor.listen(1024, ec);
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat("HttpServer: cannot listen on ", impl->options.host,
                                               ":", impl->options.port, ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint(ec).port();
  Impl* raw = impl.get();
  try {
    impl->accept_thread = std::thread([raw] { raw->acceptLoop(); });
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("HttpServer: no thread: ", e.what()));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() { impl_->stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::baseUrl() const {
  return absl::StrCat(impl_->tls.has_value() ? "https://" : "http://",
                      impl_->options.host.find(':') != std::string::npos
                          ? absl::StrCat("[", impl_->options.host, "]")
                          : impl_->options.host,
                      ":", impl_->port);
}

uint64_t HttpServer::connectionsAccepted() const { return impl_->accepted.load(); }

uint64_t HttpServer::requestsHandled() const { return impl_->requests.load(); }

size_t HttpServer::openConnections() const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (const auto& [id, conn] : impl_->connections) {
    if (conn.fd >= 0) {
      ++n;
    }
  }
  return n;
}

void HttpServer::closeAllConnections() {
  std::lock_guard lock(impl_->mu);
  for (const auto& [id, conn] : impl_->connections) {
    if (conn.fd >= 0) {
      ::shutdown(conn.fd, SHUT_RDWR);
    }
  }
}

}  // namespace secretsync::test
