import pycountry
from django.core.exceptions import ValidationError


def is_country_code(value: str) -> bool:
    return value == value.upper() and pycountry.countries.get(alpha_2=value) is not None


def validate_country_code(value: str) -> None:
    if not is_country_code(value):
        raise ValidationError(
            "%(value)s is not an ISO 3166-1 alpha-2 country code.",
            params={"value": value},
            code="country",
        )


def validate_currency_code(value: str) -> None:
    if pycountry.currencies.get(alpha_3=value) is None or value != value.upper():
        raise ValidationError(
            "%(value)s is not an ISO 4217 currency code.", params={"value": value}, code="currency"
        )
