#include "pkg/metrics/health_server.h"

#include <chrono>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"
#include "pkg/metrics/metrics_server.h"

namespace secretsync::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HealthServer::State {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  HealthCheck liveness;
  HealthCheck readiness;
};

namespace {

constexpr std::chrono::seconds kIdleTimeout{5};

http::response<http::string_body> answer(const HealthServer::State& state,
                                         const http::request<http::string_body>& request) {
  http::response<http::string_body> response;
  response.version(request.version());
  response.keep_alive(false);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const HealthCheck* check = path == "/healthz"  ? &state.liveness
                             : path == "/readyz" ? &state.readiness
                                                 : nullptr;
  if (check == nullptr) {
    response.result(http::status::not_found);
    response.body() = "404 page not found\n";
  } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
    response.result(http::status::method_not_allowed);
    response.body() = "method not allowed\n";
  } else {
    const absl::Status status = (*check)();
    response.result(status.ok() ? http::status::ok : http::status::service_unavailable);
    response.body() = status.ok() ? std::string("ok\n") : absl::StrCat(status.message(), "\n");
  }
  response.prepare_payload();
  return response;
}

// One connection: read a request (within the idle timeout), answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HealthServer::State& state)
      : stream_(std::move(socket)), state_(state) {}

  void run() {
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->reply();
                     });
  }

 private:
  void reply() {
    response_ = answer(state_, request_);
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  beast::tcp_stream stream_;
  const HealthServer::State& state_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(HealthServer::State& state) {
  state.acceptor.async_accept([&state](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Session>(std::move(socket), state)->run();
    accept(state);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::start(std::string_view address,
                                                                  HealthCheck liveness,
                                                                  HealthCheck readiness) {
  absl::StatusOr<ListenAddress> listen = parseListenAddress(address);
  if (!listen.ok()) return listen.status();
  auto state = std::make_unique<State>();
  state->liveness = std::move(liveness);
  state->readiness = std::move(readiness);
  beast::error_code ec;
  const asio::ip::address ip = listen->host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                                    : asio::ip::make_address(listen->host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("health address \"", std::string(address), "\": host is not an IP address"));
  }
  const tcp::endpoint endpoint(ip, listen->port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec && ip.is_v6() && listen->host.empty()) {
    // ":PORT" means every interface, IPv4 included.
    state->acceptor.set_option(asio::ip::v6_only(false), ec);
  }
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen for health probes on \"",
                                               std::string(address), "\": ", ec.message()));
  }
  const uint16_t port = state->acceptor.local_endpoint().port();
  return std::unique_ptr<HealthServer>(new HealthServer(std::move(state), port));
}

HealthServer::HealthServer(std::unique_ptr<State> state, uint16_t port)
    : state_(std::move(state)), port_(port) {
  accept(*state_);
  thread_ = std::thread([this] { state_->io.run(); });
}

HealthServer::~HealthServer() {
  state_->io.stop();
  thread_.join();
}

}  // namespace secretsync::metrics
