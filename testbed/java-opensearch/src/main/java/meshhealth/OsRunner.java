package meshhealth;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/** Starts one real OpenSearch node on loopback (data in the given directory) and runs until killed. */
public final class OsRunner {
    private OsRunner() {
    }

    public static void main(String[] args) throws Exception {
        String dir = args[0];
        int httpPort = Integer.parseInt(args[1]);
        int transportPort = Integer.parseInt(args[2]);
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.onBuild((number, settings) -> {
            settings.put("http.port", httpPort);
            settings.put("transport.port", transportPort);
            settings.put("network.host", "127.0.0.1");
            settings.put("discovery.type", "single-node");
            settings.remove("discovery.seed_hosts");
            settings.remove("cluster.initial_master_nodes");
            settings.remove("discovery.zen.ping.unicast.hosts");
        }).build(OpenSearchRunner.newConfigs().basePath(dir).numOfNode(1).clusterName("meshhealth-testbed")
                .useLogger());
        runner.ensureYellow();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                // shutting down anyway
            }
        }));
        System.out.println("READY http://127.0.0.1:" + httpPort);
        Thread.currentThread().join();
    }
}
