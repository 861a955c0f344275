# frozen_string_literal: true

# Loaded by the exporter role before OpenNebula's exporter (ruby -r): the exporter's server collector
# reads opennebula_{oned,scheduler,flow,hem,gate,fireedge}_state from `systemctl show`, which has nothing
# to say in a container (every state would read 0 and OnedDown, SchedulerDown, HookManagerDown fire for
# ever). Its is_active is answered here by `opennebula-entrypoint service-state SERVICE`, the roles'
# own checks, seen from this container. OpenNebula's files are not changed: this file loads the
# collector's class (the exporter's own require of the same file is then a no-op) and redefines the one
# private method that asks systemd.
#
# The exporter also binds '::': with WEBrick (Ruby's Socket.tcp_server_sockets) that socket is IPv6-only,
# and Prometheus scrapes the pod's IPv4 address. Sinatra's run! listens on EXPORTER_BIND instead (default
# 0.0.0.0; '::' where the server is dual-stack or the cluster IPv6-only), set when Sinatra's application
# class is defined (Sinatra is loaded by the exporter itself, after it chose its gem paths).
require 'timeout'
require '/usr/lib/one/opennebula_exporter/opennebula_server_collector'

# Sinatra's run! with the container's listen address.
module OpenNebulaContainerListen

    def run!(options = {}, &block)
        super(options.merge(:bind => ENV.fetch('EXPORTER_BIND', '0.0.0.0')), &block)
    end

end

# The exporter's collector middleware answers each request with the registry as the previous request
# left it, then refills it (clear, then every collector) outside its own lock: the first scrape had no
# series, every answer was one scrape old, and a request arriving during another's collection got a
# half-empty registry (concurrent scrapes, e.g. a Prometheus HA pair, are "not supported" there). Here one
# request at a time refills the registry, then renders it.
module OpenNebulaContainerSerialize

    REQUESTS = Mutex.new

    def call(env)
        REQUESTS.synchronize do
            collect(env) { nil }
            @app.call(env)
        end
    end

end

# Both hooks are placed as the classes are defined (the exporter loads them after it set up its gems).
OPENNEBULA_CONTAINER_HOOKS = {
    'Sinatra::Application' => ->(klass) { klass.singleton_class.prepend(OpenNebulaContainerListen) },
    'Prometheus::Middleware::OpenNebulaCollector' => ->(klass) { klass.prepend(OpenNebulaContainerSerialize) }
}
OPENNEBULA_CONTAINER_PENDING = OPENNEBULA_CONTAINER_HOOKS.keys
OPENNEBULA_CONTAINER_TRACE = TracePoint.new(:end) do |point|
    klass = point.self
    next unless klass.is_a?(Class) && OPENNEBULA_CONTAINER_PENDING.include?(klass.name)

    OPENNEBULA_CONTAINER_PENDING.delete(klass.name)
    OPENNEBULA_CONTAINER_HOOKS[klass.name].call(klass)
    OPENNEBULA_CONTAINER_TRACE.disable if OPENNEBULA_CONTAINER_PENDING.empty?
end
OPENNEBULA_CONTAINER_TRACE.enable

# The container's answer to the systemd units the collector names.
class OpenNebulaServerCollector

    CONTAINER_SERVICES = {
        'opennebula.service'           => 'oned',
        'opennebula-scheduler.service' => 'scheduler',
        'opennebula-flow.service'      => 'oneflow',
        'opennebula-hem.service'       => 'hem',
        'opennebula-gate.service'      => 'onegate',
        'opennebula-fireedge.service'  => 'fireedge'
    }.freeze

    ENTRYPOINT = ENV.fetch('OPENNEBULA_ENTRYPOINT', '/usr/local/bin/opennebula-entrypoint')
    CHECK_TIMEOUT = 10

    # As OpenNebula's collect, with the services checked side by side (each check is a process).
    def collect
        checks = SERVER_METRICS.map do |name, conf|
            [name, Thread.new { is_active(conf[:systemd]) }]
        end
        checks.each do |name, check|
            @metrics[name].set(check.value, :labels => { :one_server_fqdn => FQDN })
        end
    end

    private

    def is_active(unit) # rubocop:disable Naming/PredicateName
        service = CONTAINER_SERVICES[unit]
        return 0 unless service

        pid = Process.spawn(ENTRYPOINT, 'service-state', service,
                            :in => File::NULL, :out => File::NULL, :err => File::NULL,
                            :pgroup => true)
        begin
            Timeout.timeout(CHECK_TIMEOUT) { Process.wait(pid) }
        rescue Timeout::Error
            Process.kill('KILL', -pid)
            Process.wait(pid)
            return 0
        end
        $?.success? ? 1 : 0
    rescue StandardError
        0
    end

end
