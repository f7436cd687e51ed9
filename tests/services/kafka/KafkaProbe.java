// Readiness probe for tests/services/kafka.sh: exits 0 only if the broker at
// args[0] answers real Kafka API calls (Metadata via describeCluster, then
// ListTopics) within the timeout. Needs only kafka-clients on the classpath,
// so it works for every Kafka version the script can install.
import java.time.Duration;
import java.util.Collection;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;

public final class KafkaProbe {
    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: KafkaProbe HOST:PORT [TIMEOUT_MS]");
            System.exit(2);
        }
        int timeoutMs = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "revoke-kafka-probe");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        Admin admin = Admin.create(props);
        int rc = 1;
        try {
            DescribeClusterResult cluster = admin.describeCluster();
            Collection<Node> nodes = cluster.nodes().get(timeoutMs, TimeUnit.MILLISECONDS);
            String clusterId = cluster.clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
            int topics = admin.listTopics().names().get(timeoutMs, TimeUnit.MILLISECONDS).size();
            if (nodes.isEmpty()) {
                System.err.println("probe: broker answered but reports no live nodes yet");
            } else {
                System.err.println("probe: ok cluster=" + clusterId + " nodes=" + nodes.size()
                        + " topics=" + topics);
                rc = 0;
            }
        } catch (Exception e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            System.err.println("probe: not ready: " + c);
        } finally {
            admin.close(Duration.ofMillis(500));
        }
        System.exit(rc);
    }
}
