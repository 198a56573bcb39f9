# Image for web, worker and beat (docker-compose.yml). Python 3.11, pinned dependencies.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_ENV=local python manage.py collectstatic --noinput
RUN useradd --system app && chown -R app /app
USER app
EXPOSE 8000
CMD ["gunicorn", "openfactura_app.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30"]
