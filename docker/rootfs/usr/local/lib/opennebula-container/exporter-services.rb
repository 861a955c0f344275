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

OPENNEBULA_CONTAINER_LISTEN = TracePoint.new(:end) do |point|
    next unless point.self.is_a?(Class) && point.self.name == 'Sinatra::Application'

    point.self.singleton_class.prepend(OpenNebulaContainerListen)
    OPENNEBULA_CONTAINER_LISTEN.disable
end
OPENNEBULA_CONTAINER_LISTEN.enable

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
