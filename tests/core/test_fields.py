"""Encrypted fields never store clear text and refuse a wrong key."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured

from core.fields import EncryptedTextField, decrypt_str, encrypt_str


def test_round_trip_and_ciphertext_differs():
    field = EncryptedTextField()
    stored = field.get_prep_value("928e15a2d14d4a6292345f04960f4bd3")
    assert "928e15a2" not in stored
    assert field.from_db_value(stored, None, None) == "928e15a2d14d4a6292345f04960f4bd3"


def test_empty_values_are_kept_as_they_are():
    field = EncryptedTextField()
    assert field.get_prep_value("") == ""
    assert field.get_prep_value(None) is None


def test_rotation_old_key_still_decrypts(settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    token = encrypt_str("secreto")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    assert decrypt_str(token) == "secreto"


def test_wrong_key_raises_instead_of_returning_ciphertext(settings):
    token = encrypt_str("secreto")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(InvalidToken):
        decrypt_str(token)


def test_missing_key_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        encrypt_str("x")
