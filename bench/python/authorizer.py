# The Lambda authorizer of the tutorial this project started from
# (shared/seed: "How To Secure Your AWS API Gateway Using A Lambda Authorizer"),
# as printed there, with the minimal fixes it needs to run:
#   - the `else:` before `auth = 'Deny'` was missing (every token was denied);
#   - the Statement list and its dict were never opened/closed;
#   - [Account-Id] and [API-identifier] filled in, as the tutorial says to,
#     with the benchmark events' account and API.
# Its rule: token `abc123` allows every method and path of the API, any other
# token is denied; the principal is always "abc123".


def lambda_handler(event, context):

    # Log event to cloudwatch
    print('*********** Auth Event: ************')

    # Check token validity
    if event['authorizationToken'] == 'abc123':
        auth = 'Allow'
    else:
        auth = 'Deny'

    # Construct and return response
    authResponse = {}
    authResponse["principalId"] = "abc123"
    authResponse["policyDocument"] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Resource": ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/*"],
                "Effect": auth
            }
        ]
    }
    return authResponse
