from celery import shared_task

from accounts.services import api_tokens_delete_expired


@shared_task
def delete_expired_api_tokens() -> int:
    return api_tokens_delete_expired()
