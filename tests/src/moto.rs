//! IAM on the moto server (`tests/services/moto.sh`), as the tests seed and check it.

use aws_sdk_iam::Client;

/// An IAM client for the moto server at `url`, with the dummy credentials moto accepts;
/// `provider` names the credentials in the SDK's logs.
pub fn iam_client(url: &str, provider: &'static str) -> Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, provider,
        ))
        .build();
    Client::from_conf(conf)
}

/// The names of the groups `user` is in, in the order IAM lists them.
pub async fn group_names(c: &Client, user: &str) -> Vec<String> {
    let answer = c.list_groups_for_user().user_name(user).send().await;
    let listed = answer.expect("ListGroupsForUser");
    listed
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect()
}
