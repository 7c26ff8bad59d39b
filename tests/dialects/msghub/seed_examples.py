"""The example requests and responses of msghub-jsonv2.txt (Revision 1.2.240312), verbatim."""

from __future__ import annotations

import json
from typing import Any

# 1.2 Sending a separate message
SIMPLE_REQUEST = """{
"phone_number": 79651111111,
"extra_id": "AD-6640-7006",
"callback_url": "https://send-dr-here.com",
"start_time": "2020-12-12 10:10:10+03:00",
"tag": "Campaign name",
"channels": [
"sms"
],
"channel_options": {
"sms": {
"text": "Text for SMS",
"alpha_name": "Test",
"ttl": 300
}
}
}"""
SIMPLE_RESPONSE = """{"message_id":"9f60ac8f-e721-5027-b838-e6fcb95fcd7a"}"""
SIMPLE_ERROR = """{"error_code":36024,"error_text":"Phone number incorrect"}"""

# 1.3.1 Batch
BATCH_REQUEST = """{
"messages": [
{
"phone_number": 79651111111,
"extra_id": "AD-6640-7006",
"text": "Text for all channels, recipient #79651111111"
},
{
"phone_number": 79652222222,
"extra_id": "AD-6640-7007",
"text": "Text for all channels, recipient #79652222222"
}
],
"start_time": "2020-12-12 10:10:10+03:00",
"tag": "Campaign name",
"channels": [
"sms"
],
"channel_options": {
"sms": {
"alpha_name": "Test",
"ttl": 300
}
}
}"""

# 1.3.2 Broadcast, and the variant with length bounds
BROADCAST_REQUEST = """{
"recipients": [
{
"phone_number": 79651111111,\x20
"extra_id": "AD-6640-7006",
 "name": "Michael",
 "greeting": "Mr."
 },
 {
 "phone_number": 79652222222,
 "extra_id": "AD-6640-7007",
 "name": "Zoya",
 "greeting": "Ms."
 }
 ],
 "start_time": "2020-12-12 10:10:10+03:00",
 "tag": "Campaign name",
 "channels": [
 "sms"
 ],
 "channel_options": {
 "sms": {
 "text": "Dear %greeting% %name%! Here is an SMS",
"alpha_name": "Test",
"ttl": 300
}
}
}"""
BROADCAST_BOUNDS_REQUEST = """{
"recipients": [
{
"phone_number": 79651111111,
"extra_id": "AD-6640-7006",
"name": "Michael",
"greeting": "Mr. "
 },
 {
 "phone_number": 79652222222,
 "extra_id": "AD-6640-7007",
 "name": "Zoya",
 "greeting": "Ms."
 }
 ],
 "start_time": "2020-12-12 10:10:10+03:00",
 "tag": "Campaign name",
 "channels": [
 "sms"
 ],
 "channel_options": {
 "sms": {
 "text": "Dear %greeting% %name%! Here is an SMS",
"alpha_name": "Test",
"ttl": 300
}
},
"sms_cyrillic": {
"min": 0,
"max": 1340
},
"sms_latin": {
"min": 0,
"max": 3060
}
}"""

# 1.3.3 Responses to bulk requests
JOB_RESPONSE = """{"job_id": "66591729-cb47-5ef9-964b-949dc6aff84f"}"""
SYNC_RESPONSE = """{
"messages": [
{
"processed": true,
"phone_number": "79651111111",
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
 "extra_id": "AD-6640-7006",
 "accepted": true
 },
 {
 "processed": true,
 "phone_number": "79652222222",
"message_id": "e5ea7286-6849-52d7-9e1b-8719b736283e",
"extra_id": "AD-6640-7007",
"accepted": true
}
]
}"""

# 1.3.4 Campaign status report
JOB_REPORT = """{
 "messages": [
 {
 "time": 1477417299000,
 "phone_number": "79652222222",
 "message_id": "e5ea7286-6849-52d7-9e1b-8719b736283e",
 "extra_id": "AD-6640-7007",
 "processed": false,
 "accepted": true,
 "total_sms_parts": 1,
 "error_text": "SMS expired",
 "error_code": 35015
 },
 {
 "time": 1477417294667,
 "phone_number": "79651111111",
 "message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
 "extra_id": "AD-6640-7006",
 "processed": false,
 "accepted": true,
 "total_sms_parts": 1,
"delivered_sms_parts": 1,
"status_text": "SMS delivered",
"status": 2,
"substatus": 23,
"msghub_status": 23011
}
]
}"""

# 1.4.1 DR push, one report
PUSH_SINGLE = """{
"number": 79651111111,
"time": 1477417294667,
"status": 2,
"substatus": 23,
"msghub_status": 23011,
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
"extra_id": "AD-6640-7006",
"sent_via": "sms"
}"""

# 1.4.2 DR push, batched
PUSH_BATCH = """[
{
"number": "79651111111",
"time": 1477417294667,
"status": 2,
"substatus": 23,
"msghub_status": 23011,
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
"extra_id": "AD-6640-7006",
"sent_via": "sms"
},
{
"number": "79652222222",
"time": 1477417299000,
 "status": 3,
 "substatus": 35,
 "msghub_status": 35015,
 "message_id": "e5ea7286-6849-52d7-9e1b-8719b736283e",
 "extra_id": "AD-6640-7007",
 "sent_via": "sms"
 },
 {
 "number": "79653333333",
 "time": 1477417299050,
 "status": 2,
 "substatus": 23,
 "msghub_status": 23033,
 "message_id": "8a3ff6c5-a1fb-4849-a54b-3c488753cb8b",
"extra_id": "AD-6640-7008",
"sent_via": "sms"
}
]"""

# 1.5.1 Simple DR pull
DR_SIMPLE = """{
"phone_number": "79651111111",
"last_partner": "sms",
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
"extra_id": "AD-6640-7006",
"time": 1477417294667,
"status": 2,
"substatus": 23,
"msghub_status": 23011,
"total_sms_parts": 1,
"delivered_sms_parts": 1
}"""

# 1.5.2 Detailed DR pull
DR_ADVANCED = """{
"reports": [
{
"phone_number": "79651111111",
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
"extra_id": "AD-6640-7006",
"time": 1477417294667,
 "last_partner": "sms",
 "status": 3,
 "substatus": 35,
 "msghub_status": 35015
 },
 {
 "phone_number": "79651111111",
 "message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
 "extra_id": "AD-6640-7006",
 "time": 1477417294667,
 "last_partner": "sms",
 "status": 2,
 "substatus": 23,
 "msghub_status": 23011,
 "total_sms_parts": 1,
 "delivered_sms_parts": 1
 }
],
"started": true,
"processing": false,
"delivered_via": "sms",
"channels": [
{
"channel": "sms",
"ttl": 300
}
]
}"""


def load(text: str) -> Any:
    return json.loads(text)
